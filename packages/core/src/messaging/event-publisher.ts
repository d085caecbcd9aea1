import { randomUUID } from 'node:crypto';
import { PlatformEvent, stateChangeEventType } from '@trainyard/contracts/events';
import type { Topic } from '../ports/topic.js';

/**
 * Publishes platform events: `trainyard.<resource>.state-change` envelopes (see
 * `@trainyard/contracts/events`) to the topic named like the event type, created on first use.
 *
 * @example
 * await events.stateChange('processing-job', 'clean-1', { state: 'Completed', previousState: 'InProgress' });
 */
export class EventPublisher {
  private readonly created = new Set<string>();

  constructor(private readonly topics: Topic) {}

  async stateChange(
    resource: string,
    name: string,
    detail: PlatformEvent['detail'],
    time: Date = new Date(),
  ): Promise<PlatformEvent> {
    return this.publish(
      stateChangeEventType(resource),
      resource,
      name,
      detail,
      time,
      `State changes of every ${resource}`,
    );
  }

  /**
   * Publishes an event of another kind than a state change, e.g. `trainyard.quickstart.progress`
   * (`type` must be `trainyard.<resource>.<change>`), to the topic of that name.
   */
  async publish(
    type: string,
    resource: string,
    name: string,
    detail: PlatformEvent['detail'],
    time: Date = new Date(),
    description = `${type.slice('trainyard.'.length)} events`,
  ): Promise<PlatformEvent> {
    const event = PlatformEvent.parse({
      version: '1',
      id: randomUUID(),
      type,
      source: 'trainyard',
      time: time.toISOString(),
      resource: { kind: resource, name },
      detail,
    });
    if (!this.created.has(type)) {
      await this.topics.createTopic(type, { description });
      this.created.add(type);
    }
    await this.topics.publish(type, JSON.stringify(event), {
      subject: `${resource} ${name}: ${detail.state}`,
      attributes: { type, resourceKind: resource, resourceName: name, state: detail.state },
    });
    return event;
  }
}
