import { z } from 'zod';

/**
 * Platform events. Each kind of event is published to the topic of the same name,
 * `trainyard.<resource>.state-change` (e.g. `trainyard.training-job.state-change`), so a user
 * subscribes a webhook or a queue to exactly the events they want. Every event is one JSON
 * envelope, the `message` of the topic notification:
 *
 * ```json
 * {
 *   "version": "1",
 *   "id": "0mh2x8k1z0000a1b2c3d4e5f6",
 *   "type": "trainyard.processing-job.state-change",
 *   "source": "trainyard",
 *   "time": "2026-11-25T03:00:00.000Z",
 *   "resource": { "kind": "processing-job", "name": "clean-2026-11" },
 *   "detail": { "state": "Completed", "previousState": "InProgress" }
 * }
 * ```
 */
export const eventResourcePattern = /^[a-z][a-z0-9-]{0,62}$/;

/** The event type (and topic name) of a resource kind's state changes. */
export function stateChangeEventType(resource: string): string {
  if (!eventResourcePattern.test(resource)) {
    throw new Error(`event resource "${resource}" must be lowercase kebab-case (e.g. training-job)`);
  }
  return `trainyard.${resource}.state-change`;
}

export const PlatformEvent = z.object({
  /** Envelope version; a breaking change to this shape increments it. */
  version: z.literal('1'),
  /** Unique per event; receivers deduplicate at-least-once deliveries with it. */
  id: z.string(),
  /** `trainyard.<resource>.state-change`. */
  type: z.string().regex(/^trainyard\.[a-z][a-z0-9-]*\.[a-z][a-z0-9-]*$/),
  source: z.literal('trainyard'),
  /** ISO 8601 time the change happened. */
  time: z.string(),
  resource: z.object({
    /** e.g. `training-job`, `processing-job`, `endpoint`, `alarm`. */
    kind: z.string().regex(eventResourcePattern),
    name: z.string(),
  }),
  detail: z
    .object({
      state: z.string(),
      previousState: z.string().optional(),
      /** Why it changed, when the platform knows (a failure message, a user's stop). */
      reason: z.string().optional(),
    })
    .catchall(z.unknown()),
});
export type PlatformEvent = z.infer<typeof PlatformEvent>;
