import { Injectable } from '@nestjs/common';
import { sql, type Selectable } from 'kysely';
import { Database, Db } from '../database/database';
import { DeliveryStatus, type WebhookDeliveriesTable } from '../database/schema';
import { newDeliveryId } from './event-outbox';

export type DeliveryRow = Selectable<WebhookDeliveriesTable>;

/** A due delivery with what sending it needs: the webhook's target and secrets, the body. */
export interface DueDelivery extends DeliveryRow {
  url: string;
  secret: string;
  previous_secret: string | null;
  previous_secret_until: number | null;
  payload: string;
}

/** What became of one attempt. */
export interface AttemptRecord {
  status: DeliveryStatus;
  attempts: number;
  nextAttemptAt: number | null;
  at: number;
  responseCode: number | null;
  error: string | null;
}

/**
 * The delivery log: one row per (event, webhook), its attempts, and the lease under which one
 * worker (of one replica) sends it.
 */
@Injectable()
export class DeliveriesRepository {
  constructor(private readonly database: Database) {}

  private get db(): Db {
    return this.database.db;
  }

  /** A webhook's deliveries, newest first, `limit` from below the `before` seq. */
  page(webhookId: string, limit: number, before?: number): Promise<DeliveryRow[]> {
    let query = this.db
      .selectFrom('webhook_deliveries')
      .selectAll()
      .where('webhook_id', '=', webhookId)
      .orderBy('seq', 'desc')
      .limit(limit);
    if (before !== undefined) query = query.where('seq', '<', before);
    return query.execute();
  }

  find(webhookId: string, id: string): Promise<DeliveryRow | undefined> {
    return this.db
      .selectFrom('webhook_deliveries')
      .selectAll()
      .where('webhook_id', '=', webhookId)
      .where('id', '=', id)
      .executeTakeFirst();
  }

  /**
   * A new delivery of a delivery's event to its webhook, due now, behind the model's pending
   * ones (its own seq). The original keeps its record.
   */
  async redeliver(original: DeliveryRow, now: number): Promise<DeliveryRow> {
    const id = newDeliveryId();
    await this.db
      .insertInto('webhook_deliveries')
      .values({
        id,
        webhook_id: original.webhook_id,
        tenant_id: original.tenant_id,
        event_id: original.event_id,
        event_type: original.event_type,
        order_key: original.order_key,
        status: DeliveryStatus.Pending,
        attempts: 0,
        next_attempt_at: now,
        last_attempt_at: null,
        last_response_code: null,
        last_error: null,
        lease_owner: null,
        lease_until: null,
        created_at: now,
      })
      .execute();
    return (await this.find(original.webhook_id, id))!;
  }

  /**
   * Deliveries due now, oldest first: pending, of an active webhook, not leased, and with no
   * earlier pending delivery of the same model to the same webhook (a model's next event waits
   * while an earlier one is still being retried).
   */
  due(now: number, limit: number): Promise<DueDelivery[]> {
    return this.db
      .selectFrom('webhook_deliveries as d')
      .innerJoin('webhooks as w', 'w.id', 'd.webhook_id')
      .innerJoin('event_outbox as e', 'e.id', 'd.event_id')
      .selectAll('d')
      .select(['w.url', 'w.secret', 'w.previous_secret', 'w.previous_secret_until', 'e.payload'])
      .where('d.status', '=', DeliveryStatus.Pending)
      .where('w.active', '=', 1)
      .where('d.next_attempt_at', '<=', now)
      .where((eb) => eb.or([eb('d.lease_until', 'is', null), eb('d.lease_until', '<', now)]))
      .where((eb) =>
        eb.not(
          eb.exists(
            eb
              .selectFrom('webhook_deliveries as p')
              .select(sql<number>`1`.as('one'))
              .whereRef('p.webhook_id', '=', 'd.webhook_id')
              .whereRef('p.order_key', '=', 'd.order_key')
              .where('p.status', '=', DeliveryStatus.Pending)
              .whereRef('p.seq', '<', 'd.seq'),
          ),
        ),
      )
      .orderBy('d.seq')
      .limit(limit)
      .execute();
  }

  /** Takes a due delivery for one attempt (of replicas racing for it, one wins). */
  async claim(id: string, owner: string, now: number, leaseMs: number): Promise<boolean> {
    const result = await this.db
      .updateTable('webhook_deliveries')
      .set({ lease_owner: owner, lease_until: now + leaseMs })
      .where('id', '=', id)
      .where('status', '=', DeliveryStatus.Pending)
      .where((eb) => eb.or([eb('lease_until', 'is', null), eb('lease_until', '<', now)]))
      .executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  }

  /** Records an attempt and gives the lease back (only the lease's holder may). */
  async recordAttempt(id: string, owner: string, attempt: AttemptRecord): Promise<void> {
    await this.db
      .updateTable('webhook_deliveries')
      .set({
        status: attempt.status,
        attempts: attempt.attempts,
        next_attempt_at: attempt.nextAttemptAt,
        last_attempt_at: attempt.at,
        last_response_code: attempt.responseCode,
        last_error: attempt.error,
        lease_owner: null,
        lease_until: null,
      })
      .where('id', '=', id)
      .where('lease_owner', '=', owner)
      .execute();
  }

  /**
   * Deletes up to `limit` finished deliveries (succeeded or failed) whose last attempt is
   * older than `before`, then the events no delivery refers to any more (their webhooks were
   * deleted, or their deliveries pruned). Pending deliveries are never touched. Returns how
   * many deliveries went.
   */
  async prune(before: number, limit: number): Promise<number> {
    return this.database.transaction(async (trx) => {
      const old = trx
        .selectFrom('webhook_deliveries')
        .select('seq')
        .where('status', 'in', [DeliveryStatus.Succeeded, DeliveryStatus.Failed])
        .where((eb) => eb(eb.fn.coalesce('last_attempt_at', 'created_at'), '<', before))
        .orderBy('seq')
        .limit(limit);
      const deleted = await trx
        .deleteFrom('webhook_deliveries')
        .where('seq', 'in', old)
        .executeTakeFirst();
      await trx
        .deleteFrom('event_outbox')
        .where('occurred_at', '<', before)
        .where((eb) =>
          eb.not(
            eb.exists(
              eb
                .selectFrom('webhook_deliveries as d')
                .select('d.seq')
                .whereRef('d.event_id', '=', 'event_outbox.id'),
            ),
          ),
        )
        .execute();
      return Number(deleted.numDeletedRows);
    });
  }
}
