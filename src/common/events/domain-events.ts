import { Injectable } from '@nestjs/common';
import type { DomainEventMap } from '../../domain/events';

type Handler<K extends keyof DomainEventMap> = (event: DomainEventMap[K]) => Promise<void>;

/**
 * An in-process, typed event bus: a feature publishes what happened, and the features that
 * react subscribe, so that the one publishing imports none of them (the registry deletes a
 * model; transitions cancel its pending requests).
 *
 * `publish` runs the handlers one after the other and waits for each: the request that made the
 * change answers once its consequences are done, and a handler's failure is the request's
 * failure, as when it called them itself. (Not an outbox: a crash between the change and a
 * handler loses the handler's work. Each subscriber must be able to settle that on its own.)
 */
@Injectable()
export class DomainEvents {
  private readonly handlers = new Map<keyof DomainEventMap, Handler<keyof DomainEventMap>[]>();

  on<K extends keyof DomainEventMap>(type: K, handler: Handler<K>): void {
    const list = this.handlers.get(type) ?? [];
    list.push(handler as Handler<keyof DomainEventMap>);
    this.handlers.set(type, list);
  }

  async publish<K extends keyof DomainEventMap>(type: K, event: DomainEventMap[K]): Promise<void> {
    for (const handler of this.handlers.get(type) ?? []) await handler(event);
  }
}
