import { z } from 'zod';
import { PlatformEvent } from './events.js';
import { defineRoute } from './route.js';

/** Heartbeat comment interval of `/api/v1/events`, ms: keeps proxies from closing an idle stream. */
export const eventStreamHeartbeatMs = 15_000;

/** Topics the live feed subscribes from the start (others `trainyard.*` are found as they appear). */
export const liveEventTopics = [
  'trainyard.processing-job.state-change',
  'trainyard.training-job.state-change',
  'trainyard.tuning-job.state-change',
  'trainyard.tuning-job.progress',
  'trainyard.endpoint.state-change',
  'trainyard.endpoint-instance.state-change',
  'trainyard.quickstart.progress',
] as const;

/** The SSE event name of a platform event: its type without `trainyard.` (`training-job.state-change`). */
export function liveEventName(type: string): string {
  return type.startsWith('trainyard.') ? type.slice('trainyard.'.length) : type;
}

const EventName = z.string().regex(/^[a-z][a-z0-9-]*\.[a-z][a-z0-9-]*$/, 'like training-job.state-change');

export const LiveEventsQuery = z
  .object({
    /** Comma-separated event names to receive (e.g. `training-job.state-change,endpoint.state-change`); all when absent. */
    types: z
      .string()
      .max(2000)
      .optional()
      .transform((value, ctx) => {
        if (value === undefined || value.trim() === '') return undefined;
        const names = value.split(',').map((n) => n.trim());
        for (const name of names) {
          if (!EventName.safeParse(name).success) {
            ctx.addIssue({
              code: 'custom',
              message: `"${name.slice(0, 80)}" is not an event name like training-job.state-change`,
            });
            return z.NEVER;
          }
        }
        return names;
      }),
  })
  .strict();

export const eventRoutes = {
  streamEvents: {
    ...defineRoute({
      method: 'GET',
      path: '/api/v1/events',
      access: 'read',
      summary:
        'Live platform events as server-sent events: job and endpoint state changes, quickstart progress (event name = type without "trainyard."; a heartbeat comment every 15 s)',
      tag: 'events',
      query: LiveEventsQuery,
      response: PlatformEvent,
      heartbeatMs: eventStreamHeartbeatMs,
    }),
    eventStream: true as const,
  },
};
