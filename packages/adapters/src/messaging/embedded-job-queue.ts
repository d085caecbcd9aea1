import { randomBytes } from 'node:crypto';
import { TrainyardError } from '@trainyard/contracts/errors';
import type {
  JobQueue,
  QueueCounts,
  QueueDescription,
  QueueOptions,
  ReceivedMessage,
  ReceiveOptions,
  SendOptions,
} from '@trainyard/core/ports/job-queue';
import { type Kysely, type Selectable, sql } from 'kysely';
import type { Database } from '../sql/database.js';
import { sqlCall } from '../sql/sql-errors.js';
import { newMessageId } from './message-id.js';
import type { MessagingTables, MqMessagesTable, MqQueuesTable } from './messaging-tables.js';
import { queueArguments } from './queue-arguments.js';
import { SendSignal } from './send-signal.js';

type Db = Kysely<MessagingTables>;

/** Receivers poll at most this often while long-polling for sends of other processes. */
const pollMs = 100;
/** Queue options are re-read at most this often: another process's createQueue shows within it. */
const describeCacheMs = 1_000;

function describe(row: Selectable<MqQueuesTable>): QueueDescription {
  return {
    name: row.name,
    visibilityTimeoutMs: Number(row.visibility_timeout_ms),
    maxReceiveCount: row.max_receive_count ?? undefined,
    deadLetterQueue: row.dead_letter_queue ?? undefined,
    fifo: row.fifo === 1,
  };
}

function messageOf(row: Selectable<MqMessagesTable>, withReceipt: boolean): ReceivedMessage {
  return {
    id: row.id,
    body: row.body,
    attributes: JSON.parse(row.attributes) as Record<string, string>,
    receiveCount: row.receive_count,
    receiptHandle: withReceipt && row.receipt ? `${row.id}.${row.receipt}` : '',
    sentAt: new Date(Number(row.sent_at)),
    ...(row.group_id === null ? {} : { groupId: row.group_id }),
  };
}

/**
 * The embedded JobQueue: messages are rows of the metadata database, so they are as durable as
 * the metadata (a committed send survives a SIGKILL). One atomic `UPDATE … WHERE id IN (SELECT …
 * LIMIT n) RETURNING` claims a batch; on PostgreSQL the inner select takes `FOR UPDATE SKIP
 * LOCKED`, so any number of server processes receive from one queue without holding the same
 * message. Visibility is a `visible_at` time: nothing has to run for a message to reappear.
 */
export class EmbeddedJobQueue implements JobQueue {
  readonly kind: string;
  private readonly db: Db;
  private readonly signal = new SendSignal();
  private readonly cache = new Map<string, { description: QueueDescription; at: number }>();
  private closed = false;

  constructor(
    db: Kysely<Database>,
    private readonly dialect: 'sqlite' | 'postgres',
  ) {
    this.db = db.withTables<MessagingTables>() as unknown as Db;
    this.kind = `embedded-${dialect}`;
  }

  async createQueue(name: string, options: QueueOptions = {}): Promise<void> {
    const d = queueArguments.description(name, options);
    const row = {
      visibility_timeout_ms: d.visibilityTimeoutMs,
      max_receive_count: d.maxReceiveCount ?? null,
      dead_letter_queue: d.deadLetterQueue ?? null,
      fifo: d.fifo ? 1 : 0,
    };
    await sqlCall(`queue "${name}"`, async () => {
      if (d.deadLetterQueue !== undefined) {
        await this.db
          .insertInto('mq_queues')
          .values({
            name: d.deadLetterQueue,
            visibility_timeout_ms: 30_000,
            max_receive_count: null,
            dead_letter_queue: null,
            fifo: 0,
            created_at: Date.now(),
          })
          .onConflict((oc) => oc.column('name').doNothing())
          .execute();
      }
      await this.db
        .insertInto('mq_queues')
        .values({ name, ...row, created_at: Date.now() })
        .onConflict((oc) => oc.column('name').doUpdateSet(row))
        .execute();
    });
    this.cache.set(name, { description: d, at: Date.now() });
  }

  async describeQueue(name: string): Promise<QueueDescription> {
    const hit = this.cache.get(name);
    if (hit && Date.now() - hit.at < describeCacheMs) return hit.description;
    const row = await this.db.selectFrom('mq_queues').selectAll().where('name', '=', name).executeTakeFirst();
    if (!row) throw queueArguments.unknownQueue(name);
    const description = describe(row);
    this.cache.set(name, { description, at: Date.now() });
    return description;
  }

  async listQueues(): Promise<string[]> {
    const rows = await this.db.selectFrom('mq_queues').select('name').orderBy('name').execute();
    return rows.map((r) => r.name);
  }

  async send(queue: string, body: string, options: SendOptions = {}): Promise<{ id: string }> {
    const q = await this.describeQueue(queue);
    queueArguments.send(q, body, options);
    const now = Date.now();
    const id = newMessageId(now);
    await sqlCall(`message of queue "${queue}"`, () =>
      this.db
        .insertInto('mq_messages')
        .values({
          id,
          queue,
          body,
          attributes: JSON.stringify(options.attributes ?? {}),
          group_id: options.groupId ?? null,
          sent_at: now,
          visible_at: now + (options.delayMs ?? 0),
          receive_count: 0,
          receipt: null,
        })
        .execute(),
    );
    this.signal.notify(queue);
    return { id };
  }

  async receive(queue: string, options: ReceiveOptions = {}): Promise<ReceivedMessage[]> {
    const q = await this.describeQueue(queue);
    const { maxMessages, visibilityTimeoutMs, waitMs } = queueArguments.receive(q, options);
    const deadline = Date.now() + waitMs;
    for (;;) {
      const got = await this.receiveOnce(q, maxMessages, visibilityTimeoutMs);
      const left = deadline - Date.now();
      if (got.length > 0 || left <= 0 || this.closed) return got;
      await this.signal.wait(queue, Math.min(left, pollMs));
    }
  }

  private async receiveOnce(
    q: QueueDescription,
    max: number,
    visibilityMs: number,
  ): Promise<ReceivedMessage[]> {
    const now = Date.now();
    const pg = this.dialect === 'postgres';
    const limit = q.maxReceiveCount;
    return sqlCall(`queue "${q.name}"`, async () => {
      // Idle polling (long polls, the topic delivery loop) stays read-only: no write lock when empty.
      const due = await this.db
        .selectFrom('mq_messages')
        .select('id')
        .where('queue', '=', q.name)
        .where('visible_at', '<=', now)
        .limit(1)
        .executeTakeFirst();
      if (!due) return [];
      if (limit !== undefined && q.deadLetterQueue !== undefined) {
        // SQS semantics: a visible message already received maxReceiveCount times goes to the DLQ
        // instead of being delivered again.
        const exhausted = this.db
          .selectFrom('mq_messages')
          .select('id')
          .where('queue', '=', q.name)
          .where('visible_at', '<=', now)
          .where('receive_count', '>=', limit)
          .limit(100)
          .$if(pg, (qb) => qb.forUpdate().skipLocked());
        await this.db
          .updateTable('mq_messages')
          .set({ queue: q.deadLetterQueue, receive_count: 0, receipt: null, visible_at: now })
          .where('id', 'in', exhausted)
          .execute();
      }
      const candidates = this.db
        .selectFrom('mq_messages as m')
        .select('m.id')
        .where('m.queue', '=', q.name)
        .where('m.visible_at', '<=', now)
        .$if(limit !== undefined, (qb) => qb.where('m.receive_count', '<', limit ?? 0))
        .$if(q.fifo, (qb) =>
          // Only the oldest message of a group may go out: one in flight per group, in send order.
          qb.where(({ not, exists, selectFrom }) =>
            not(
              exists(
                selectFrom('mq_messages as e')
                  .select('e.id')
                  .whereRef('e.queue', '=', 'm.queue')
                  .whereRef('e.group_id', '=', 'm.group_id')
                  .whereRef('e.id', '<', 'm.id'),
              ),
            ),
          ),
        )
        .orderBy('m.visible_at')
        .orderBy('m.id')
        .limit(max)
        .$if(pg, (qb) => qb.forUpdate().skipLocked());
      const nonce = randomBytes(8).toString('hex');
      const rows = await this.db
        .updateTable('mq_messages')
        .set((eb) => ({
          receipt: nonce,
          visible_at: now + visibilityMs,
          receive_count: eb('receive_count', '+', 1),
        }))
        .where('id', 'in', candidates)
        .returningAll()
        .execute();
      rows.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
      return rows.map((r) => messageOf(r, true));
    });
  }

  async delete(queue: string, receiptHandle: string): Promise<void> {
    const { id, nonce } = queueArguments.receipt(receiptHandle);
    const result = await sqlCall(`queue "${queue}"`, () =>
      this.db
        .deleteFrom('mq_messages')
        .where('queue', '=', queue)
        .where('id', '=', id)
        .where('receipt', '=', nonce)
        .executeTakeFirst(),
    );
    if (Number(result.numDeletedRows) === 0) await this.explainMiss(queue, id);
  }

  async changeVisibility(queue: string, receiptHandle: string, visibilityTimeoutMs: number): Promise<void> {
    const { id, nonce } = queueArguments.receipt(receiptHandle);
    queueArguments.visibility(visibilityTimeoutMs);
    const result = await sqlCall(`queue "${queue}"`, () =>
      this.db
        .updateTable('mq_messages')
        .set({ visible_at: Date.now() + visibilityTimeoutMs })
        .where('queue', '=', queue)
        .where('id', '=', id)
        .where('receipt', '=', nonce)
        .executeTakeFirst(),
    );
    if (Number(result.numUpdatedRows) === 0) {
      await this.explainMiss(queue, id);
      throw new TrainyardError('NOT_FOUND', `message ${id} is no longer in queue "${queue}"`, {
        field: 'receiptHandle',
      });
    }
    if (visibilityTimeoutMs === 0) this.signal.notify(queue);
  }

  /** A receipt that matched nothing: stale when the message is still there, else already gone. */
  private async explainMiss(queue: string, id: string): Promise<void> {
    await this.describeQueue(queue);
    const row = await this.db
      .selectFrom('mq_messages')
      .select('id')
      .where('queue', '=', queue)
      .where('id', '=', id)
      .executeTakeFirst();
    if (row) throw queueArguments.staleReceipt(queue);
  }

  async counts(queue: string): Promise<QueueCounts> {
    await this.describeQueue(queue);
    const now = Date.now();
    const row = await this.db
      .selectFrom('mq_messages')
      .select([
        sql<number>`coalesce(sum(case when visible_at <= ${now} then 1 else 0 end), 0)`.as('visible'),
        sql<number>`coalesce(sum(case when visible_at > ${now} and receipt is not null then 1 else 0 end), 0)`.as(
          'in_flight',
        ),
        sql<number>`coalesce(sum(case when visible_at > ${now} and receipt is null then 1 else 0 end), 0)`.as(
          'delayed',
        ),
      ])
      .where('queue', '=', queue)
      .executeTakeFirstOrThrow();
    return { visible: Number(row.visible), inFlight: Number(row.in_flight), delayed: Number(row.delayed) };
  }

  async peek(queue: string, limit?: number): Promise<ReceivedMessage[]> {
    const n = queueArguments.limit(limit, 10, 1000);
    await this.describeQueue(queue);
    const rows = await this.db
      .selectFrom('mq_messages')
      .selectAll()
      .where('queue', '=', queue)
      .orderBy('id')
      .limit(n)
      .execute();
    return rows.map((r) => messageOf(r, false));
  }

  async redrive(deadLetterQueue: string, toQueue: string): Promise<number> {
    await this.describeQueue(deadLetterQueue);
    await this.describeQueue(toQueue);
    const result = await sqlCall(`queue "${toQueue}"`, () =>
      this.db
        .updateTable('mq_messages')
        .set({ queue: toQueue, receive_count: 0, receipt: null, visible_at: Date.now() })
        .where('queue', '=', deadLetterQueue)
        .executeTakeFirst(),
    );
    this.signal.notify(toQueue);
    return Number(result.numUpdatedRows);
  }

  async purge(queue: string): Promise<number> {
    await this.describeQueue(queue);
    const result = await sqlCall(`queue "${queue}"`, () =>
      this.db.deleteFrom('mq_messages').where('queue', '=', queue).executeTakeFirst(),
    );
    return Number(result.numDeletedRows);
  }

  async close(): Promise<void> {
    // The database belongs to the metadata store, which closes it.
    this.closed = true;
    this.signal.wakeAll();
  }
}
