import { randomBytes } from 'node:crypto';
import type { Db } from '../database/database';
import { DeliveryStatus } from '../database/schema';
import { ALL_EVENTS, NewEvent } from './event-types';

export function newDeliveryId(): string {
  return `dlv_${randomBytes(12).toString('hex')}`;
}

/** Whether a webhook subscribed to `events` (its JSON column) gets events of `type`. */
export function subscribes(events: readonly string[], type: string): boolean {
  return events.includes(ALL_EVENTS) || events.includes(type);
}

/**
 * The transactional outbox. A producer records its events with the `db` it writes its change
 * with (a Kysely transaction): the events and their deliveries commit with the change, or not
 * at all. The fan-out to webhooks happens here, at write time: a delivery per active webhook of
 * the tenant subscribed to the type, so the worker only ever reads deliveries (and a webhook
 * created later does not get events from before it existed). An event no webhook subscribes
 * to is not written at all.
 */
export const EventOutbox = {
  async record(db: Db, events: readonly NewEvent[]): Promise<void> {
    if (events.length === 0) return;
    const tenants = [...new Set(events.map((e) => e.payload.tenant_id))];
    const hooks = await db
      .selectFrom('webhooks')
      .select(['id', 'tenant_id', 'events'])
      .where('tenant_id', 'in', tenants)
      .where('active', '=', 1)
      .execute();
    const subscribed = hooks.map((h) => ({ ...h, types: JSON.parse(h.events) as string[] }));
    const now = Date.now();
    const deliveries = events.flatMap((e) =>
      subscribed
        .filter((h) => h.tenant_id === e.payload.tenant_id && subscribes(h.types, e.payload.type))
        .map((h) => delivery(h.id, e, now)),
    );
    // An event no webhook subscribes to has nowhere to go: nothing is written for it.
    if (deliveries.length === 0) return;
    const delivered = new Set(deliveries.map((d) => d.event_id));
    await db
      .insertInto('event_outbox')
      .values(events.filter((e) => delivered.has(e.payload.id)).map(outboxRow))
      .execute();
    await db.insertInto('webhook_deliveries').values(deliveries).execute();
  },

  /** Records an event for one webhook only (webhook.test); returns the delivery's id. */
  async recordFor(db: Db, webhookId: string, event: NewEvent): Promise<string> {
    await db.insertInto('event_outbox').values(outboxRow(event)).execute();
    const row = delivery(webhookId, event, Date.now());
    await db.insertInto('webhook_deliveries').values(row).execute();
    return row.id;
  },
};

function outboxRow(e: NewEvent) {
  return {
    id: e.payload.id,
    tenant_id: e.payload.tenant_id,
    type: e.payload.type,
    payload: JSON.stringify(e.payload),
    occurred_at: Date.parse(e.payload.occurred_at),
  };
}

function delivery(webhookId: string, e: NewEvent, now: number) {
  return {
    id: newDeliveryId(),
    webhook_id: webhookId,
    tenant_id: e.payload.tenant_id,
    event_id: e.payload.id,
    event_type: e.payload.type,
    order_key: e.orderKey,
    status: DeliveryStatus.Pending,
    attempts: 0,
    next_attempt_at: now,
    last_attempt_at: null,
    last_response_code: null,
    last_error: null,
    lease_owner: null,
    lease_until: null,
    created_at: now,
  };
}
