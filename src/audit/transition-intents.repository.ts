import { Injectable } from '@nestjs/common';
import type { Selectable } from 'kysely';
import { Database, Db } from '../database/database';
import type { TransitionIntentsTable } from '../database/schema';
import type { HistoryEntry } from './history.repository';

export type TransitionIntentRow = Selectable<TransitionIntentsTable>;

export enum IntentKind {
  Transition = 'transition',
  DeleteVersion = 'delete_version',
  DeleteModel = 'delete_model',
}

export interface TransitionIntent {
  id: string;
  kind: IntentKind;
  tenant: string;
  model: string;
  modelUid: string;
  /** 0 for a whole model. */
  version: number;
  from: string | null;
  to: string | null;
  entries: HistoryEntry[];
}

/**
 * Direct stage transitions and deletions asked of the registry backend and not recorded yet (an
 * outbox in reverse: the record is written before the external effect). A row lives from just
 * before the backend call to the transaction that appends its entries to history; one left
 * behind means the process died or the call failed in between, and the reconciler
 * (TransitionsService) settles it from what the backend shows.
 */
@Injectable()
export class TransitionIntentsRepository {
  constructor(private readonly database: Database) {}

  get db(): Db {
    return this.database.db;
  }

  async insert(intent: TransitionIntent, now: number, leaseMs: number): Promise<void> {
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
        lease_until: now + leaseMs,
        created_at: now,
      })
      .execute();
  }

  /** Removes an intent; false when it was gone already (the reconciler settled it). */
  async remove(id: string, db: Db = this.db): Promise<boolean> {
    const result = await db
      .deleteFrom('transition_intents')
      .where('id', '=', id)
      .executeTakeFirst();
    return Number(result.numDeletedRows) === 1;
  }

  /**
   * Runs the transaction that records an intent's effect; if it fails (the database), hands the
   * intent to the reconciler at once rather than after its lease, and rethrows.
   */
  async record(id: string, commit: () => Promise<void>): Promise<void> {
    try {
      await commit();
    } catch (err) {
      await this.expire(id).catch(() => undefined);
      throw err;
    }
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
  expired(now: number, limit: number): Promise<TransitionIntentRow[]> {
    return this.db
      .selectFrom('transition_intents')
      .selectAll()
      .where('lease_until', '<', now)
      .orderBy('created_at')
      .limit(limit)
      .execute();
  }

  /** Claims an expired intent for one reconciliation attempt (one replica wins). */
  async claim(row: TransitionIntentRow, now: number, leaseMs: number): Promise<boolean> {
    const result = await this.db
      .updateTable('transition_intents')
      .set({ lease_until: now + leaseMs })
      .where('id', '=', row.id)
      .where('lease_until', '=', row.lease_until)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  }
}

export function entriesOf(row: TransitionIntentRow): HistoryEntry[] {
  return JSON.parse(row.entries) as HistoryEntry[];
}
