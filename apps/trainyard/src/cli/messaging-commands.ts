import { invalidArgument } from '@trainyard/contracts/errors';
import { positionTypes } from '@trainyard/contracts/messaging-routes';
import { type Command, Option } from 'commander';
import { type ClientFlags, clientCommand, clientOf } from './client-command.js';
import { printObject, printRows } from './output.js';

const int = (field: string) => (value: string) => {
  const n = Number(value);
  if (!Number.isInteger(n)) throw invalidArgument(field, `"${value}" is not an integer`);
  return n;
};

/** `https://…` and `http://…` are webhooks; `queue:<name>` is a queue. */
function endpointOf(target: string) {
  if (target.startsWith('queue:')) return { kind: 'queue' as const, queue: target.slice('queue:'.length) };
  if (target.startsWith('https://')) return { kind: 'https' as const, url: target };
  if (target.startsWith('http://')) return { kind: 'http' as const, url: target };
  throw invalidArgument('endpoint', `"${target}" is neither an http(s):// URL nor queue:<name>`);
}

function attributesOf(pairs: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const pair of pairs) {
    const eq = pair.indexOf('=');
    if (eq < 1) throw invalidArgument('attribute', `"${pair}" is not key=value`);
    out[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  return out;
}

const collect = (value: string, previous: string[]) => [...previous, value];
const endpointText = (e: { kind: string; url?: string; queue?: string; name?: string }) =>
  e.url ?? (e.queue ? `queue:${e.queue}` : `handler:${e.name}`);

function addTopicCommands(program: Command): void {
  const topics = program
    .command('topics')
    .description('Topics fan events out to webhooks and queues (SNS semantics); see docs/messaging.md');
  clientCommand(topics, 'list', 'List topics').action(async (flags: ClientFlags) => {
    const rows = [];
    for await (const t of clientOf(flags).listAll('listTopics')) rows.push(t);
    printRows(rows, ['name', 'subscriptionCount', 'createdAt', 'description'], flags.json ?? false);
  });
  clientCommand(topics, 'create', 'Create a topic (idempotent)')
    .argument('<name>', 'e.g. trainyard.processing-job.state-change')
    .option('--description <text>', 'what is published on it')
    .action(async (name: string, flags: ClientFlags & { description?: string }) => {
      const body = { name, ...(flags.description ? { description: flags.description } : {}) };
      printObject(await clientOf(flags).call('createTopic', { body }), flags.json ?? false);
    });
  clientCommand(topics, 'delete', 'Delete a topic and its subscriptions')
    .argument('<name>')
    .action(async (name: string, flags: ClientFlags) => {
      await clientOf(flags).call('deleteTopic', { params: { name } });
      if (!flags.json) process.stdout.write(`deleted topic ${name}\n`);
    });
  clientCommand(
    topics,
    'subscribe',
    'Subscribe a webhook (http(s)://…) or a queue (queue:<name>); prints the signing secret once',
  )
    .argument('<topic>')
    .argument('<endpoint>', 'https://host/path, http://host/path or queue:<name>')
    .option('--max-attempts <n>', 'attempts before a dead letter (default 5)', int('maxAttempts'))
    .option(
      '--initial-delay-ms <ms>',
      'wait before the 2nd attempt, doubled each time (default 1000)',
      int('initialDelayMs'),
    )
    .option('--max-delay-ms <ms>', 'longest wait between attempts (default 60000)', int('maxDelayMs'))
    .option('--timeout-ms <ms>', 'webhook answer timeout (default 5000)', int('timeoutMs'))
    .option('--secret <secret>', 'HMAC key for X-Trainyard-Signature (default: generated)')
    .action(
      async (
        topic: string,
        target: string,
        flags: ClientFlags & {
          maxAttempts?: number;
          initialDelayMs?: number;
          maxDelayMs?: number;
          timeoutMs?: number;
          secret?: string;
        },
      ) => {
        const retryPolicy = Object.fromEntries(
          Object.entries({
            maxAttempts: flags.maxAttempts,
            initialDelayMs: flags.initialDelayMs,
            maxDelayMs: flags.maxDelayMs,
            timeoutMs: flags.timeoutMs,
          }).filter(([, v]) => v !== undefined),
        );
        const sub = await clientOf(flags).call('subscribe', {
          params: { name: topic },
          body: {
            endpoint: endpointOf(target),
            ...(Object.keys(retryPolicy).length ? { retryPolicy } : {}),
            ...(flags.secret ? { secret: flags.secret } : {}),
          },
        });
        printObject({ ...sub, endpoint: endpointText(sub.endpoint) }, flags.json ?? false);
        if (!flags.json) {
          process.stdout.write(
            '\nThe secret is not shown again. Webhooks carry X-Trainyard-Signature: sha256=<hex HMAC-SHA256 of the body>.\n',
          );
        }
      },
    );
  clientCommand(topics, 'unsubscribe', 'Remove a subscription')
    .argument('<subscription-id>')
    .action(async (id: string, flags: ClientFlags) => {
      await clientOf(flags).call('unsubscribe', { params: { id } });
      if (!flags.json) process.stdout.write(`removed ${id}\n`);
    });
  clientCommand(topics, 'subscriptions', 'List the subscriptions of a topic')
    .argument('<topic>')
    .action(async (topic: string, flags: ClientFlags) => {
      const rows = [];
      for await (const s of clientOf(flags).listAll('listSubscriptions', { params: { name: topic } })) {
        rows.push({ ...s, endpoint: endpointText(s.endpoint), maxAttempts: s.retryPolicy.maxAttempts });
      }
      printRows(rows, ['id', 'endpoint', 'maxAttempts', 'createdAt'], flags.json ?? false);
    });
  clientCommand(topics, 'publish', 'Publish a message to every subscription (test-publish)')
    .argument('<topic>')
    .argument('<message>', 'the message text (JSON is passed through unchanged)')
    .option('--subject <text>', 'a subject line')
    .option('--attribute <key=value>', 'a message attribute (repeatable)', collect, [])
    .action(
      async (
        topic: string,
        message: string,
        flags: ClientFlags & { subject?: string; attribute: string[] },
      ) => {
        const result = await clientOf(flags).call('publish', {
          params: { name: topic },
          body: {
            message,
            ...(flags.subject ? { subject: flags.subject } : {}),
            ...(flags.attribute.length ? { attributes: attributesOf(flags.attribute) } : {}),
          },
        });
        printObject(result, flags.json ?? false);
      },
    );
  clientCommand(topics, 'deliveries', 'Delivery log of a subscription, newest first')
    .argument('<subscription-id>')
    .option('--limit <n>', 'at most this many attempts', int('limit'), 50)
    .action(async (id: string, flags: ClientFlags & { limit: number }) => {
      const { items } = await clientOf(flags).call('listDeliveries', {
        params: { id },
        query: { limit: flags.limit },
      });
      printRows(
        items,
        ['at', 'messageId', 'attempt', 'status', 'httpStatus', 'durationMs', 'error'],
        flags.json ?? false,
      );
    });
  clientCommand(topics, 'dead-letters', 'Deliveries given up on after the retry policy')
    .argument('<subscription-id>')
    .option('--limit <n>', 'at most this many', int('limit'), 50)
    .action(async (id: string, flags: ClientFlags & { limit: number }) => {
      const { items } = await clientOf(flags).call('listDeadLetters', {
        params: { id },
        query: { limit: flags.limit },
      });
      printRows(items, ['at', 'messageId', 'attempts', 'lastError'], flags.json ?? false);
    });
}

function addQueueCommands(program: Command): void {
  const queues = program
    .command('queues')
    .description(
      'Queues (SQS semantics): create, send, receive, delete, change visibility, counts, dead letters and their replay',
    );
  const columns = [
    'name',
    'visible',
    'inFlight',
    'delayed',
    'oldestAgeMs',
    'fifo',
    'maxReceiveCount',
    'deadLetterQueue',
  ];
  clientCommand(
    queues,
    'create',
    "Create a queue or change its options (trainyard-* names are the platform's)",
  )
    .argument('<name>')
    .option(
      '--visibility-timeout <seconds>',
      'how long a received message stays hidden (default 30)',
      int('--visibility-timeout'),
    )
    .option(
      '--max-receives <n>',
      'receives after which a message moves to the dead-letter queue',
      int('--max-receives'),
    )
    .option('--dead-letter-queue <name>', 'where dead letters go (default <name>-dlq with --max-receives)')
    .option('--fifo', 'one in-flight message per message group, in send order')
    .action(
      async (
        name: string,
        flags: ClientFlags & {
          visibilityTimeout?: number;
          maxReceives?: number;
          deadLetterQueue?: string;
          fifo?: boolean;
        },
      ) => {
        const queue = await clientOf(flags).call('createQueue', {
          params: { name },
          body: {
            ...(flags.visibilityTimeout === undefined
              ? {}
              : { visibilityTimeoutSeconds: flags.visibilityTimeout }),
            ...(flags.maxReceives === undefined ? {} : { maxReceiveCount: flags.maxReceives }),
            ...(flags.deadLetterQueue ? { deadLetterQueue: flags.deadLetterQueue } : {}),
            ...(flags.fifo ? { fifo: true } : {}),
          },
        });
        printObject(queue, flags.json ?? false);
      },
    );
  clientCommand(queues, 'send', 'Send one message, or up to 10 in one batch')
    .argument('<name>')
    .argument('<body...>', 'message bodies (several: one batch)')
    .option('--delay <seconds>', 'hidden for this long after sending (0-900)', int('--delay'))
    .option('--group <id>', 'FIFO queues: the message group')
    .option(
      '--attribute <key=value>',
      'message attribute (repeatable)',
      (value: string, previous: string[] = []) => [...previous, value],
    )
    .action(
      async (
        name: string,
        bodies: string[],
        flags: ClientFlags & { delay?: number; group?: string; attribute?: string[] },
      ) => {
        const attributes: Record<string, string> = {};
        for (const pair of flags.attribute ?? []) {
          const at = pair.indexOf('=');
          if (at <= 0) throw invalidArgument('--attribute', `"${pair}" is not key=value`);
          attributes[pair.slice(0, at)] = pair.slice(at + 1);
        }
        const fields = {
          ...(flags.delay === undefined ? {} : { delaySeconds: flags.delay }),
          ...(flags.group ? { groupId: flags.group } : {}),
          ...(Object.keys(attributes).length ? { attributes } : {}),
        };
        const client = clientOf(flags);
        if (bodies.length === 1) {
          const sent = await client.call('sendMessage', {
            params: { name },
            body: { body: bodies[0] ?? '', ...fields },
          });
          printObject(sent, flags.json ?? false);
          return;
        }
        const result = await client.call('sendMessageBatch', {
          params: { name },
          body: { entries: bodies.map((body, i) => ({ id: String(i + 1), body, ...fields })) },
        });
        if (flags.json) {
          printObject(result, true);
          return;
        }
        printRows(
          [
            ...result.successful.map((r) => ({ entry: r.id, messageId: r.messageId, error: undefined })),
            ...result.failed.map((r) => ({
              entry: r.id,
              messageId: undefined,
              error: `${r.message} (${r.code})`,
            })),
          ],
          ['entry', 'messageId', 'error'],
          false,
        );
        if (result.failed.length > 0) process.exitCode = 1;
      },
    );
  clientCommand(queues, 'receive', 'Receive messages (long poll); delete each once handled')
    .argument('<name>')
    .option('--max <n>', 'at most this many messages (1-10)', int('--max'), 1)
    .option('--wait <seconds>', 'long poll: wait up to this long for a message (0-20)', int('--wait'), 0)
    .option(
      '--visibility-timeout <seconds>',
      'hide the received messages this long',
      int('--visibility-timeout'),
    )
    .action(
      async (
        name: string,
        flags: ClientFlags & { max: number; wait: number; visibilityTimeout?: number },
      ) => {
        const { items } = await clientOf(flags).call('receiveMessages', {
          params: { name },
          body: {
            maxMessages: flags.max,
            waitSeconds: flags.wait,
            ...(flags.visibilityTimeout === undefined
              ? {}
              : { visibilityTimeoutSeconds: flags.visibilityTimeout }),
          },
        });
        printRows(items, ['id', 'receiveCount', 'body', 'receiptHandle'], flags.json ?? false);
      },
    );
  clientCommand(queues, 'delete', 'Delete a received message')
    .argument('<name>')
    .argument('<receipt-handle>')
    .action(async (name: string, receiptHandle: string, flags: ClientFlags) => {
      await clientOf(flags).call('deleteMessage', { params: { name }, body: { receiptHandle } });
      if (!flags.json) process.stdout.write('deleted\n');
    });
  clientCommand(queues, 'change-visibility', 'Hide a received message for longer, or make it visible now (0)')
    .argument('<name>')
    .argument('<receipt-handle>')
    .argument('<seconds>')
    .action(async (name: string, receiptHandle: string, seconds: string, flags: ClientFlags) => {
      await clientOf(flags).call('changeMessageVisibility', {
        params: { name },
        body: { receiptHandle, visibilityTimeoutSeconds: int('<seconds>')(seconds) },
      });
      if (!flags.json) process.stdout.write('changed\n');
    });
  clientCommand(queues, 'list', 'List queues with approximate counts').action(async (flags: ClientFlags) => {
    const rows = [];
    for await (const q of clientOf(flags).listAll('listQueues')) rows.push(q);
    printRows(rows, columns, flags.json ?? false);
  });
  clientCommand(queues, 'show', 'Describe a queue and its counts')
    .argument('<name>')
    .action(async (name: string, flags: ClientFlags) => {
      printObject(await clientOf(flags).call('getQueue', { params: { name } }), flags.json ?? false);
    });
  clientCommand(queues, 'peek', 'Show messages without receiving them (e.g. of a dead-letter queue)')
    .argument('<name>')
    .option('--limit <n>', 'at most this many messages', int('limit'), 10)
    .action(async (name: string, flags: ClientFlags & { limit: number }) => {
      const { items } = await clientOf(flags).call('peekQueue', {
        params: { name },
        query: { limit: flags.limit },
      });
      printRows(items, ['id', 'sentAt', 'receiveCount', 'body'], flags.json ?? false);
    });
  clientCommand(queues, 'redrive', 'Replay a dead-letter queue: move its messages back to their source queue')
    .argument('<dead-letter-queue>')
    .option('--to <queue>', 'target queue (default: the queue whose dead-letter queue this is)')
    .action(async (name: string, flags: ClientFlags & { to?: string }) => {
      const result = await clientOf(flags).call('redriveQueue', {
        params: { name },
        body: flags.to ? { toQueue: flags.to } : {},
      });
      printObject(result, flags.json ?? false);
    });
  clientCommand(queues, 'purge', 'Delete every message of a queue, received and delayed ones included')
    .argument('<name>')
    .action(async (name: string, flags: ClientFlags) => {
      printObject(await clientOf(flags).call('purgeQueue', { params: { name } }), flags.json ?? false);
    });
}

function addStreamCommands(program: Command): void {
  const streams = program
    .command('streams')
    .description('Ordered, sharded record streams (Kinesis semantics): create, describe, put, read');
  clientCommand(streams, 'list', 'List streams').action(async (flags: ClientFlags) => {
    const rows = [];
    for await (const s of clientOf(flags).listAll('listStreams')) rows.push(s);
    printRows(rows, ['name'], flags.json ?? false);
  });
  clientCommand(streams, 'create', 'Create a stream')
    .argument('<name>')
    .option('--shards <n>', 'number of shards, 1..64', int('shardCount'), 1)
    .option('--retention-hours <h>', 'drop records older than this (default 24)', Number)
    .option(
      '--max-records-per-shard <n>',
      'keep at most this many records per shard',
      int('maxRecordsPerShard'),
    )
    .action(
      async (
        name: string,
        flags: ClientFlags & { shards: number; retentionHours?: number; maxRecordsPerShard?: number },
      ) => {
        const described = await clientOf(flags).call('createStream', {
          body: {
            name,
            shardCount: flags.shards,
            ...(flags.retentionHours === undefined
              ? {}
              : { retentionMs: Math.round(flags.retentionHours * 3_600_000) }),
            ...(flags.maxRecordsPerShard === undefined
              ? {}
              : { maxRecordsPerShard: flags.maxRecordsPerShard }),
          },
        });
        printObject({ ...described, shards: described.shards.length }, flags.json ?? false);
      },
    );
  clientCommand(streams, 'describe', 'Shards, record counts and sequence numbers of a stream')
    .argument('<name>')
    .action(async (name: string, flags: ClientFlags) => {
      const d = await clientOf(flags).call('describeStream', { params: { name } });
      if (flags.json) {
        printObject(d, true);
        return;
      }
      printObject(
        {
          name: d.name,
          shardCount: d.shardCount,
          retentionMs: d.retentionMs,
          maxRecordsPerShard: d.maxRecordsPerShard,
          createdAt: d.createdAt,
        },
        false,
      );
      process.stdout.write('\n');
      printRows(d.shards, ['shardId', 'records', 'firstSequenceNumber', 'lastSequenceNumber'], false);
    });
  clientCommand(streams, 'delete', 'Delete a stream with its records and checkpoints')
    .argument('<name>')
    .action(async (name: string, flags: ClientFlags) => {
      await clientOf(flags).call('deleteStream', { params: { name } });
      if (!flags.json) process.stdout.write(`deleted stream ${name}\n`);
    });
  clientCommand(streams, 'put', 'Put one record; its partition key picks the shard')
    .argument('<name>')
    .argument('<partition-key>')
    .argument('<data>', 'the record text')
    .action(async (name: string, partitionKey: string, data: string, flags: ClientFlags) => {
      printObject(
        await clientOf(flags).call('putRecord', { params: { name }, body: { partitionKey, data } }),
        flags.json ?? false,
      );
    });
  clientCommand(streams, 'read', 'Read records of one shard from a position')
    .argument('<name>')
    .option('--shard <id>', 'shard id', int('shardId'), 0)
    .addOption(
      new Option('--from <position>', 'where to start').choices([...positionTypes]).default('TRIM_HORIZON'),
    )
    .option('--sequence-number <seq>', 'with --from AT_SEQUENCE_NUMBER / AFTER_SEQUENCE_NUMBER')
    .option('--timestamp <iso>', 'with --from AT_TIMESTAMP')
    .option('--limit <n>', 'records per read', int('limit'), 100)
    .option('--follow', 'keep reading new records until interrupted')
    .action(
      async (
        name: string,
        flags: ClientFlags & {
          shard: number;
          from: (typeof positionTypes)[number];
          sequenceNumber?: string;
          timestamp?: string;
          limit: number;
          follow?: boolean;
        },
      ) => {
        const client = clientOf(flags);
        let query = {
          position: flags.from,
          limit: flags.limit,
          ...(flags.sequenceNumber ? { sequenceNumber: flags.sequenceNumber } : {}),
          ...(flags.timestamp ? { timestamp: flags.timestamp } : {}),
        };
        const columns = ['sequenceNumber', 'arrivedAt', 'partitionKey', 'data'];
        for (;;) {
          const page = await client.call('getRecords', { params: { name, shardId: flags.shard }, query });
          if (flags.json) for (const r of page.records) process.stdout.write(`${JSON.stringify(r)}\n`);
          else if (page.records.length > 0 || !flags.follow) printRows(page.records, columns, false);
          const next = page.nextPosition;
          query = {
            position: next.type,
            limit: flags.limit,
            ...(next.sequenceNumber ? { sequenceNumber: next.sequenceNumber } : {}),
            ...(next.timestamp ? { timestamp: next.timestamp } : {}),
          };
          if (!flags.follow) {
            if (!flags.json && next.sequenceNumber) {
              process.stdout.write(`\nnext: --from ${next.type} --sequence-number ${next.sequenceNumber}\n`);
            }
            return;
          }
          if (page.records.length < flags.limit) await new Promise((r) => setTimeout(r, 1_000));
        }
      },
    );
}

/** `trainyard topics …`, `trainyard queues …`, `trainyard streams …`. */
export function addMessagingCommands(program: Command): void {
  addTopicCommands(program);
  addQueueCommands(program);
  addStreamCommands(program);
}
