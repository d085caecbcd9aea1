import { type eventRoutes, liveEventName } from '@trainyard/contracts/event-routes';
import type { PlatformEvent } from '@trainyard/contracts/events';
import type { StreamEvent } from '@trainyard/contracts/route';
import type { DoorServices } from './door-services.js';
import type { HandlersOf } from './route-handlers.js';

/** `/api/v1/events`: the platform's live events as server-sent events. */
export function eventHandlers({
  liveEvents,
}: Pick<DoorServices, 'liveEvents'>): HandlersOf<typeof eventRoutes> {
  return {
    streamEvents: async ({ query }) => {
      const wanted = query.types ? new Set(query.types) : undefined;
      const feed = await liveEvents.subscribe((event) => !wanted || wanted.has(liveEventName(event.type)));
      // Not a generator: a generator waiting for its next event would hold a client's goodbye
      // (return) until that event came; the feed's own return ends the wait at once.
      const events: AsyncIterableIterator<StreamEvent<PlatformEvent>> = {
        [Symbol.asyncIterator]: () => events,
        next: async () => {
          const next = await feed.next();
          if (next.done) return { value: undefined, done: true };
          const event = next.value;
          return { value: { event: liveEventName(event.type), id: event.id, data: event }, done: false };
        },
        return: async () => {
          await feed.return?.();
          return { value: undefined, done: true };
        },
      };
      return events;
    },
  };
}
