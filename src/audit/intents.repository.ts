import { Injectable } from '@nestjs/common';
import type { Selectable } from 'kysely';
import { Database, Db } from '../database/database';
import type { TransitionIntentsTable } from '../database/schema';
import { HistoryEntry, HistoryRepository } from './history.repository';
import { IntentKind } from '../database/schema';
import type { Stage } from '../mlflow/registry-types';
import { EventOutbox, type NewEvent } from '../events';

export type IntentRow = Selectable<TransitionIntentsTable>;

/**
 * How long an intent belongs to the request making the change. Its backend calls are bounded
 * well below this; past it the reconciler takes the intent over.
 */
const INTENT_LEASE_MS = 120_000;

export interface Intent {
  id: string;
  kind: IntentKind;
  tenant: string;
  model: string;
  modelUid: string;
  /** 0 for a whole model. */
  version: number;
  from: Stage | null;
  to: Stage | null;
  entries: HistoryEntry[];
  /** The events the change makes (webhooks), recorded with its entries. */
  events?: NewEvent[];
  /** The alias an alias change names. */
  alias?: string;
}

/**
 * Changes asked of the registry backend and not recorded yet — direct stage transitions,
 * deletions and alias changes (an outbox in reverse: the record is written before the external effect). A row
 * lives from just before the backend call to the transaction that appends its entries to
 * history; one left behind means the process died or the call failed in between, and the
 * IntentReconciler has the intent's owner (transitions, deletion) tell from what the backend
 * shows whether the change happened.
 */
@Injectable()
export class IntentsRepository {
  constructor(
    private readonly database: Database,
    private readonly history: HistoryRepository,
  ) {}

  get db(): Db {
    return this.database.db;
  }

  private async insert(intent: Intent, now: number, leaseMs: number): Promise<void> {
    await this.db
      .insertInto('transition_intents')
      .values({
        id: intent.id,
        kind: intent.kind,
        tenant_id: intent.tenant,
        model_name: intent.model,
        model_uid: intent.modelUid,
        version: intent.version,
        from_stage: intent.from,
        to_stage: intent.to,
        entries: JSON.stringify(intent.entries),
        events: JSON.stringify(intent.events ?? []),
        alias: intent.alias ?? null,
        lease_until: now + leaseMs,
        created_at: now,
      })
      .execute();
  }

  /** Removes an intent; false when it was gone already (the reconciler settled it). */
  private async remove(id: string, db: Db): Promise<boolean> {
    const result = await db
      .deleteFrom('transition_intents')
      .where('id', '=', id)
      .executeTakeFirst();
    return Number(result.numDeletedRows) === 1;
  }

  /**
   * Makes a change in the registry backend under an intent: written before `change` runs,
   * removed in the transaction that appends its history entries after it. If `change` fails
   * (it may still have happened: a timeout) or recording fails, the intent goes to the
   * reconciler at once rather than after its lease, and the error is rethrown.
   * `change` may answer the events as they turned out (the moved version as the backend
   * answered it): those are recorded instead of the intent's (which a reconciler records).
   */
  async carryOut(intent: Intent, change: () => Promise<NewEvent[] | void>): Promise<void> {
    await this.insert(intent, Date.now(), INTENT_LEASE_MS);
    try {
      const events = await change();
      await this.settle(intent.id, intent.entries, events ?? intent.events ?? []);
    } catch (err) {
      await this.expire(intent.id).catch(() => undefined);
      throw err;
    }
  }

  /**
   * Removes an intent and, if it was still there and `entries` are given, appends them to the
   * history and records `events` in the same transaction (so of a request and a reconciler,
   * one records them).
   */
  async settle(
    id: string,
    entries: HistoryEntry[] | null,
    events: readonly NewEvent[] = [],
  ): Promise<boolean> {
    return this.db.transaction().execute(async (trx) => {
      const removed = await this.remove(id, trx);
      if (removed && entries !== null) {
        await this.history.append(entries, trx);
        await EventOutbox.record(trx, events);
      }
      return removed;
    });
  }

  /** Hands an intent to the reconciler at once (its request failed). */
  async expire(id: string): Promise<void> {
    await this.db
      .updateTable('transition_intents')
      .set({ lease_until: 0 })
      .where('id', '=', id)
      .execute();
  }

  /** Intents whose request is over (lease run out), oldest first. */
  expired(now: number, limit: number): Promise<IntentRow[]> {
    return this.db
      .selectFrom('transition_intents')
      .selectAll()
      .where('lease_until', '<', now)
      .orderBy('created_at')
      .limit(limit)
      .execute();
  }

  /** Claims an expired intent for one reconciliation attempt (one replica wins). */
  async claim(row: IntentRow, now: number, leaseMs: number): Promise<boolean> {
    const result = await this.db
      .updateTable('transition_intents')
      .set({ lease_until: now + leaseMs })
      .where('id', '=', row.id)
      .where('lease_until', '=', row.lease_until)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  }
}

export function entriesOf(row: IntentRow): HistoryEntry[] {
  return JSON.parse(row.entries) as HistoryEntry[];
}

/** The events an intent carries (none for a row written before migration 009). */
export function eventsOf(row: IntentRow): NewEvent[] {
  return row.events === null ? [] : (JSON.parse(row.events) as NewEvent[]);
}
