import { Injectable } from '@nestjs/common';
import type { Insertable, Selectable } from 'kysely';
import { Database, Db } from '../database/database';
import type { HistoryTable } from '../database/schema';
import { HistoryEvent } from '../database/schema';

export type HistoryRow = Selectable<HistoryTable>;
/**
 * A new entry. The tenants of the people it names are required (null only where it names
 * nobody), so no writer forgets them: a `sub` alone is ambiguous across tenants. `details`
 * holds structured facts beyond the columns, as a JSON object's text (`JSON.stringify({...})`).
 * A tenant-level entry (a tenant policy change) has model_name '', model_uid '' and version 0.
 */
export type HistoryEntry = Omit<Insertable<HistoryTable>, 'id' | 'details'> &
  Pick<HistoryRow, 'actor_tenant' | 'requested_by_tenant' | 'approved_by_tenant'> & {
    details?: string | null;
  };

/**
 * The audit trail of every version: append-only. Nothing in the service updates or deletes a
 * row here; a deleted model keeps its records.
 */
@Injectable()
export class HistoryRepository {
  constructor(private readonly database: Database) {}

  async append(entries: HistoryEntry[], db: Db = this.database.db): Promise<void> {
    if (entries.length === 0) return;
    await db.insertInto('history').values(entries).execute();
  }

  /** The highest version number recorded for a model incarnation; 0 when none is. */
  async highestVersion(tenant: string, model: string, modelUid: string): Promise<number> {
    const row = await this.database.db
      .selectFrom('history')
      .select((eb) => eb.fn.max<number | null>('version').as('highest'))
      .where('tenant_id', '=', tenant)
      .where('model_name', '=', model)
      .where('model_uid', '=', modelUid)
      .executeTakeFirst();
    return Number(row?.highest ?? 0);
  }

  /** A version's transition entries recorded at or after `since` (epoch ms). */
  transitionsSince(
    tenant: string,
    model: string,
    modelUid: string,
    version: number,
    since: number,
  ): Promise<HistoryRow[]> {
    return this.versionEntries(tenant, model, modelUid, version)
      .where('event', '=', HistoryEvent.Transition)
      .where('at', '>=', since)
      .execute();
  }

  forVersion(
    tenant: string,
    model: string,
    modelUid: string,
    version: number,
  ): Promise<HistoryRow[]> {
    return this.versionEntries(tenant, model, modelUid, version).execute();
  }

  /** One version's entries, oldest first. */
  private versionEntries(tenant: string, model: string, modelUid: string, version: number) {
    return this.database.db
      .selectFrom('history')
      .selectAll()
      .where('tenant_id', '=', tenant)
      .where('model_name', '=', model)
      .where('model_uid', '=', modelUid)
      .where('version', '=', version)
      .orderBy('id');
  }
}
