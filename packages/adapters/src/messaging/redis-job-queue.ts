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
import type { Redis } from 'ioredis';
import { newMessageId } from './message-id.js';
import { queueArguments } from './queue-arguments.js';
import { redisCall } from './redis-errors.js';

const pollMs = 50;
const describeCacheMs = 1_000;

/*
 * Layout under `<prefix>:q:{<queue>}:` (the braces keep a queue's keys in one hash slot):
 *   pending   zset id -> time it becomes visible (never received, delayed, or returned)
 *   inflight  zset id -> end of its invisibility
 *   body, attrs, group, rc, receipt   hashes id -> field
 *   g:<group> list of ids in send order (FIFO queues)
 * Ids sort in send order, so equal scores keep send order.
 */

/** Moves every due message (`inflight` past its deadline) back, then claims up to `max` messages. */
const receiveScript = `
local base, now, max, vis, nonce = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4]), ARGV[5]
local maxrc, dlq, fifo = tonumber(ARGV[6]), ARGV[7], ARGV[8] == '1'
local pending, inflight = base .. 'pending', base .. 'inflight'
local due = redis.call('ZRANGEBYSCORE', inflight, '-inf', now, 'WITHSCORES')
for i = 1, #due, 2 do
  redis.call('ZREM', inflight, due[i])
  redis.call('ZADD', pending, due[i + 1], due[i])
end
local out = {}
local function forget(id)
  redis.call('ZREM', pending, id)
  redis.call('HDEL', base .. 'body', id)
  redis.call('HDEL', base .. 'attrs', id)
  redis.call('HDEL', base .. 'rc', id)
  redis.call('HDEL', base .. 'receipt', id)
  local group = redis.call('HGET', base .. 'group', id)
  if group then
    redis.call('HDEL', base .. 'group', id)
    redis.call('LREM', base .. 'g:' .. group, 1, id)
  end
end
local function consider(id)
  local rc = tonumber(redis.call('HGET', base .. 'rc', id) or '0')
  if maxrc > 0 and rc >= maxrc then
    -- SQS semantics: received maxReceiveCount times and visible again: dead-letter it.
    local body = redis.call('HGET', base .. 'body', id)
    local attrs = redis.call('HGET', base .. 'attrs', id)
    local group = redis.call('HGET', base .. 'group', id)
    forget(id)
    redis.call('HSET', dlq .. 'body', id, body)
    if attrs then redis.call('HSET', dlq .. 'attrs', id, attrs) end
    if group then redis.call('HSET', dlq .. 'group', id, group) end
    redis.call('HSET', dlq .. 'rc', id, 0)
    redis.call('ZADD', dlq .. 'pending', now, id)
    return
  end
  local group = redis.call('HGET', base .. 'group', id)
  if fifo and group and redis.call('LINDEX', base .. 'g:' .. group, 0) ~= id then return end
  redis.call('ZREM', pending, id)
  redis.call('ZADD', inflight, now + vis, id)
  rc = redis.call('HINCRBY', base .. 'rc', id, 1)
  redis.call('HSET', base .. 'receipt', id, nonce)
  out[#out + 1] = { id, redis.call('HGET', base .. 'body', id), redis.call('HGET', base .. 'attrs', id) or '', rc, group or '' }
end
if fifo then
  local ids = redis.call('ZRANGEBYSCORE', pending, '-inf', now, 'LIMIT', 0, 1000)
  for _, id in ipairs(ids) do
    if #out >= max then break end
    consider(id)
  end
else
  while #out < max do
    local ids = redis.call('ZRANGEBYSCORE', pending, '-inf', now, 'LIMIT', 0, max - #out)
    if #ids == 0 then break end
    for _, id in ipairs(ids) do consider(id) end
  end
end
return out
`;

/** 1 deleted, -1 stale receipt (received again since), 0 already gone. */
const deleteScript = `
local base, id, nonce = ARGV[1], ARGV[2], ARGV[3]
local current = redis.call('HGET', base .. 'receipt', id)
if current ~= nonce then
  if redis.call('HEXISTS', base .. 'body', id) == 1 then return -1 end
  return 0
end
redis.call('ZREM', base .. 'pending', id)
redis.call('ZREM', base .. 'inflight', id)
redis.call('HDEL', base .. 'body', id)
redis.call('HDEL', base .. 'attrs', id)
redis.call('HDEL', base .. 'rc', id)
redis.call('HDEL', base .. 'receipt', id)
local group = redis.call('HGET', base .. 'group', id)
if group then
  redis.call('HDEL', base .. 'group', id)
  redis.call('LREM', base .. 'g:' .. group, 1, id)
end
return 1
`;

/** 1 changed, -1 stale receipt, 0 gone. */
const visibilityScript = `
local base, id, nonce, now, vis = ARGV[1], ARGV[2], ARGV[3], tonumber(ARGV[4]), tonumber(ARGV[5])
local current = redis.call('HGET', base .. 'receipt', id)
if current ~= nonce then
  if redis.call('HEXISTS', base .. 'body', id) == 1 then return -1 end
  return 0
end
redis.call('ZREM', base .. 'pending', id)
redis.call('ZREM', base .. 'inflight', id)
if vis == 0 then
  redis.call('ZADD', base .. 'pending', now, id)
else
  redis.call('ZADD', base .. 'inflight', now + vis, id)
end
return 1
`;

/** Moves up to 1000 messages of one queue to another, as new (receive count 0). Returns how many. */
const redriveScript = `
local from, to, now, toFifo = ARGV[1], ARGV[2], tonumber(ARGV[3]), ARGV[4] == '1'
local ids = redis.call('ZRANGE', from .. 'pending', 0, 999)
if #ids < 1000 then
  for _, id in ipairs(redis.call('ZRANGE', from .. 'inflight', 0, 999 - #ids)) do ids[#ids + 1] = id end
end
for _, id in ipairs(ids) do
  local body = redis.call('HGET', from .. 'body', id)
  local attrs = redis.call('HGET', from .. 'attrs', id)
  local group = redis.call('HGET', from .. 'group', id)
  redis.call('ZREM', from .. 'pending', id)
  redis.call('ZREM', from .. 'inflight', id)
  for _, h in ipairs({ 'body', 'attrs', 'rc', 'receipt', 'group' }) do redis.call('HDEL', from .. h, id) end
  if group then redis.call('LREM', from .. 'g:' .. group, 1, id) end
  redis.call('HSET', to .. 'body', id, body)
  if attrs then redis.call('HSET', to .. 'attrs', id, attrs) end
  redis.call('HSET', to .. 'rc', id, 0)
  if group and toFifo then
    redis.call('HSET', to .. 'group', id, group)
    redis.call('RPUSH', to .. 'g:' .. group, id)
  end
  redis.call('ZADD', to .. 'pending', now, id)
end
return #ids
`;

/** Deletes every message of one queue (its FIFO group lists too). Returns how many. */
const purgeScript = `
local base = ARGV[1]
local n = redis.call('ZCARD', base .. 'pending') + redis.call('ZCARD', base .. 'inflight')
local seen = {}
for _, group in ipairs(redis.call('HVALS', base .. 'group')) do
  if not seen[group] then
    seen[group] = true
    redis.call('DEL', base .. 'g:' .. group)
  end
end
redis.call('DEL', base .. 'pending', base .. 'inflight', base .. 'body', base .. 'attrs', base .. 'group', base .. 'rc', base .. 'receipt')
return n
`;

type ReceivedRow = [string, string, string, number, string];

interface ScriptedRedis extends Redis {
  tyReceive(...args: (string | number)[]): Promise<ReceivedRow[]>;
  tyDelete(...args: string[]): Promise<number>;
  tyVisibility(...args: (string | number)[]): Promise<number>;
  tyRedrive(...args: (string | number)[]): Promise<number>;
  tyPurge(base: string): Promise<number>;
}

function sentAtOf(id: string): Date {
  return new Date(Number.parseInt(id.slice(0, 9), 36));
}

/**
 * JobQueue on Redis (one node; not Redis Cluster). Every state change of a message is one Lua
 * script, so receive, delete and visibility changes are atomic however many processes share the
 * queue. Durability is the server's: configure `appendonly yes` with `appendfsync always` to keep
 * every acknowledged send across a Redis crash (the durability test runs a private server so).
 */
export class RedisJobQueue implements JobQueue {
  readonly kind = 'redis';
  private readonly redis: ScriptedRedis;
  private readonly cache = new Map<string, { description: QueueDescription; at: number }>();
  private closed = false;

  /** `redis` is an ioredis client this queue owns (it quits it on close); keys start with `prefix` (default `ty`). */
  constructor(
    redis: Redis,
    private readonly prefix = 'ty',
  ) {
    this.redis = redis as ScriptedRedis;
    this.redis.defineCommand('tyReceive', { numberOfKeys: 0, lua: receiveScript });
    this.redis.defineCommand('tyDelete', { numberOfKeys: 0, lua: deleteScript });
    this.redis.defineCommand('tyVisibility', { numberOfKeys: 0, lua: visibilityScript });
    this.redis.defineCommand('tyRedrive', { numberOfKeys: 0, lua: redriveScript });
    this.redis.defineCommand('tyPurge', { numberOfKeys: 0, lua: purgeScript });
  }

  private base(queue: string): string {
    return `${this.prefix}:q:{${queue}}:`;
  }

  private get registry(): string {
    return `${this.prefix}:queues`;
  }

  async createQueue(name: string, options: QueueOptions = {}): Promise<void> {
    const d = queueArguments.description(name, options);
    await redisCall(async () => {
      if (d.deadLetterQueue !== undefined) {
        await this.redis.hsetnx(
          this.registry,
          d.deadLetterQueue,
          JSON.stringify(queueArguments.description(d.deadLetterQueue)),
        );
      }
      await this.redis.hset(this.registry, name, JSON.stringify(d));
    });
    this.cache.set(name, { description: d, at: Date.now() });
  }

  async describeQueue(name: string): Promise<QueueDescription> {
    const hit = this.cache.get(name);
    if (hit && Date.now() - hit.at < describeCacheMs) return hit.description;
    const raw = await redisCall(() => this.redis.hget(this.registry, name));
    if (raw === null) throw queueArguments.unknownQueue(name);
    const description = JSON.parse(raw) as QueueDescription;
    this.cache.set(name, { description, at: Date.now() });
    return description;
  }

  async listQueues(): Promise<string[]> {
    return (await redisCall(() => this.redis.hkeys(this.registry))).sort();
  }

  async send(queue: string, body: string, options: SendOptions = {}): Promise<{ id: string }> {
    const q = await this.describeQueue(queue);
    queueArguments.send(q, body, options);
    const now = Date.now();
    const id = newMessageId(now);
    const base = this.base(queue);
    const tx = this.redis.multi().hset(`${base}body`, id, body).hset(`${base}rc`, id, 0);
    if (options.attributes && Object.keys(options.attributes).length > 0) {
      tx.hset(`${base}attrs`, id, JSON.stringify(options.attributes));
    }
    if (options.groupId !== undefined) {
      tx.hset(`${base}group`, id, options.groupId).rpush(`${base}g:${options.groupId}`, id);
    }
    tx.zadd(`${base}pending`, now + (options.delayMs ?? 0), id);
    await redisCall(() => tx.exec());
    return { id };
  }

  async receive(queue: string, options: ReceiveOptions = {}): Promise<ReceivedMessage[]> {
    const q = await this.describeQueue(queue);
    const { maxMessages, visibilityTimeoutMs, waitMs } = queueArguments.receive(q, options);
    const deadline = Date.now() + waitMs;
    for (;;) {
      const nonce = randomBytes(8).toString('hex');
      const rows = await redisCall(() =>
        this.redis.tyReceive(
          this.base(queue),
          Date.now(),
          maxMessages,
          visibilityTimeoutMs,
          nonce,
          q.maxReceiveCount ?? 0,
          q.deadLetterQueue === undefined ? '' : this.base(q.deadLetterQueue),
          q.fifo ? '1' : '0',
        ),
      );
      const left = deadline - Date.now();
      if (rows.length > 0 || left <= 0 || this.closed) {
        return rows.map(([id, body, attrs, rc, group]) => ({
          id,
          body,
          attributes: attrs ? (JSON.parse(attrs) as Record<string, string>) : {},
          receiveCount: Number(rc),
          receiptHandle: `${id}.${nonce}`,
          sentAt: sentAtOf(id),
          ...(group ? { groupId: group } : {}),
        }));
      }
      await new Promise((r) => setTimeout(r, Math.min(left, pollMs)));
    }
  }

  async delete(queue: string, receiptHandle: string): Promise<void> {
    const { id, nonce } = queueArguments.receipt(receiptHandle);
    const result = await redisCall(() => this.redis.tyDelete(this.base(queue), id, nonce));
    if (result === -1) throw queueArguments.staleReceipt(queue);
    if (result === 0) await this.describeQueue(queue);
  }

  async changeVisibility(queue: string, receiptHandle: string, visibilityTimeoutMs: number): Promise<void> {
    const { id, nonce } = queueArguments.receipt(receiptHandle);
    queueArguments.visibility(visibilityTimeoutMs);
    const result = await redisCall(() =>
      this.redis.tyVisibility(this.base(queue), id, nonce, Date.now(), visibilityTimeoutMs),
    );
    if (result === -1) throw queueArguments.staleReceipt(queue);
    if (result === 0) {
      await this.describeQueue(queue);
      throw new TrainyardError('NOT_FOUND', `message ${id} is no longer in queue "${queue}"`, {
        field: 'receiptHandle',
      });
    }
  }

  async counts(queue: string): Promise<QueueCounts> {
    await this.describeQueue(queue);
    const base = this.base(queue);
    const now = Date.now();
    const replies = await redisCall(() =>
      this.redis
        .multi()
        .zcount(`${base}pending`, '-inf', now)
        .zcount(`${base}inflight`, '-inf', now)
        .zcount(`${base}inflight`, `(${now}`, '+inf')
        .zcount(`${base}pending`, `(${now}`, '+inf')
        .exec(),
    );
    const n = (replies ?? []).map(([, v]) => Number(v));
    return { visible: (n[0] ?? 0) + (n[1] ?? 0), inFlight: n[2] ?? 0, delayed: n[3] ?? 0 };
  }

  async peek(queue: string, limit?: number): Promise<ReceivedMessage[]> {
    const n = queueArguments.limit(limit, 10, 1000);
    await this.describeQueue(queue);
    const base = this.base(queue);
    const ids = [
      ...(await this.redis.zrange(`${base}pending`, 0, n - 1)),
      ...(await this.redis.zrange(`${base}inflight`, 0, n - 1)),
    ]
      .sort()
      .slice(0, n);
    if (ids.length === 0) return [];
    const [bodies, attrs, rcs, groups] = await Promise.all(
      ['body', 'attrs', 'rc', 'group'].map((h) => this.redis.hmget(`${base}${h}`, ...ids)),
    );
    const out: ReceivedMessage[] = [];
    ids.forEach((id, i) => {
      const body = bodies?.[i];
      if (body === null || body === undefined) return;
      const attr = attrs?.[i];
      const group = groups?.[i];
      out.push({
        id,
        body,
        attributes: attr ? (JSON.parse(attr) as Record<string, string>) : {},
        receiveCount: Number(rcs?.[i] ?? 0),
        receiptHandle: '',
        sentAt: sentAtOf(id),
        ...(group ? { groupId: group } : {}),
      });
    });
    return out;
  }

  async redrive(deadLetterQueue: string, toQueue: string): Promise<number> {
    await this.describeQueue(deadLetterQueue);
    const to = await this.describeQueue(toQueue);
    let moved = 0;
    for (;;) {
      const n = Number(
        await redisCall(() =>
          this.redis.tyRedrive(
            this.base(deadLetterQueue),
            this.base(toQueue),
            Date.now(),
            to.fifo ? '1' : '0',
          ),
        ),
      );
      moved += n;
      if (n < 1000) return moved;
    }
  }

  async purge(queue: string): Promise<number> {
    await this.describeQueue(queue);
    return Number(await redisCall(() => this.redis.tyPurge(this.base(queue))));
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.redis.quit().catch(() => this.redis.disconnect());
  }
}

/** Connects to `redis://…` and returns a queue owning the connection. Loads ioredis only when called. */
export async function openRedisJobQueue(
  url: string,
  options: { prefix?: string } = {},
): Promise<RedisJobQueue> {
  const { Redis } = await import('ioredis');
  const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 3 });
  await redisCall(() => client.connect());
  return new RedisJobQueue(client, options.prefix);
}
