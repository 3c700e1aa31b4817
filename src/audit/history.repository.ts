import { Injectable } from '@nestjs/common';
import type { Insertable, Selectable } from 'kysely';
import { Database, Db } from '../database/database';
import type { HistoryTable } from '../database/schema';
import { HistoryEvent } from '../database/schema';
import { CHAINED_FIELDS, ChainHead, ChainedEntry, EMPTY_HEAD, entryHash } from './audit-chain';

export type HistoryRow = Selectable<HistoryTable>;
/**
 * A new entry. The tenants of the people it names are required (null only where it names
 * nobody), so no writer forgets them: a `sub` alone is ambiguous across tenants. `details`
 * holds structured facts beyond the columns, as a JSON object's text (`JSON.stringify({...})`).
 * A tenant-level entry (a tenant policy change) has model_name '', model_uid '' and version 0.
 */
export type HistoryEntry = Omit<
  Insertable<HistoryTable>,
  'id' | 'details' | 'seq' | 'prev_hash' | 'hash'
> &
  Pick<HistoryRow, 'actor_tenant' | 'requested_by_tenant' | 'approved_by_tenant'> & {
    details?: string | null;
  };

/**
 * The audit trail of every version: append-only. Nothing in the service updates or deletes a
 * row here; a deleted model keeps its records. Each tenant's entries form a hash chain
 * (audit-chain.ts) whose head is the tenant's row in audit_heads.
 */
@Injectable()
export class HistoryRepository {
  constructor(private readonly database: Database) {}

  /**
   * Appends entries to their tenants' chains: in the caller's transaction when `db` is one
   * (the entries then commit with the change they record), else in a transaction of its own.
   * Appends to one tenant are serialized by its head row, locked until the transaction ends
   * (FOR UPDATE on PostgreSQL, across replicas; on SQLite the one writer at a time), so each
   * entry links to the one committed before it.
   */
  async append(entries: HistoryEntry[], db: Db = this.database.db): Promise<void> {
    if (entries.length === 0) return;
    if (db.isTransaction) return this.chain(entries, db);
    await db.transaction().execute((trx) => this.chain(entries, trx));
  }

  private async chain(entries: HistoryEntry[], trx: Db): Promise<void> {
    // Heads locked in tenant order: two transactions appending to the same tenants cannot
    // each hold one the other waits for.
    const tenants = [...new Set(entries.map((e) => e.tenant_id))].sort();
    const rows: Insertable<HistoryTable>[] = [];
    for (const tenant of tenants) {
      let head = await this.lockHead(tenant, trx);
      for (const entry of entries) {
        if (entry.tenant_id !== tenant) continue;
        const chained = chainedEntry(entry, head);
        const hash = entryHash(chained);
        rows.push({ ...(chained as unknown as Insertable<HistoryTable>), hash });
        head = { seq: head.seq + 1, hash };
      }
      await trx
        .updateTable('audit_heads')
        .set({ seq: head.seq, hash: head.hash })
        .where('tenant_id', '=', tenant)
        .execute();
    }
    await trx.insertInto('history').values(rows).execute();
  }

  /** The tenant's head, locked for the rest of the transaction; created on its first entry. */
  private async lockHead(tenant: string, trx: Db): Promise<ChainHead> {
    const read = () => {
      const query = trx
        .selectFrom('audit_heads')
        .select(['seq', 'hash'])
        .where('tenant_id', '=', tenant);
      // SQLite has no FOR UPDATE (nor needs one: one transaction writes at a time).
      return (this.database.dialect === 'postgres' ? query.forUpdate() : query).executeTakeFirst();
    };
    const head = await read();
    if (head !== undefined) return { seq: Number(head.seq), hash: head.hash };
    // Two first appends racing: one inserts, the other waits for it and then reads its row.
    await trx
      .insertInto('audit_heads')
      .values({ tenant_id: tenant, ...EMPTY_HEAD })
      .onConflict((oc) => oc.column('tenant_id').doNothing())
      .execute();
    const created = await read();
    if (created === undefined) throw new Error(`audit head of tenant ${tenant} is missing`);
    return { seq: Number(created.seq), hash: created.hash };
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

  /**
   * A page of the tenant's chain, oldest first: up to `limit` entries after seq `afterSeq`.
   * Walks the (tenant_id, seq) index, so a page costs its rows whatever the history's length.
   */
  chainPage(tenant: string, afterSeq: number, limit: number): Promise<HistoryRow[]> {
    return this.database.db
      .selectFrom('history')
      .selectAll()
      .where('tenant_id', '=', tenant)
      .where('seq', '>', afterSeq)
      .orderBy('seq')
      .limit(limit)
      .execute();
  }

  /**
   * An entry of the tenant outside its chain up to `headSeq`: without a seq, or past the head
   * (no append wrote it, or one committed after the head was read). Undefined when none.
   */
  async outsideChain(tenant: string, headSeq: number): Promise<HistoryRow | undefined> {
    return this.database.db
      .selectFrom('history')
      .selectAll()
      .where('tenant_id', '=', tenant)
      .where((eb) => eb.or([eb('seq', 'is', null), eb('seq', '>', headSeq)]))
      .orderBy('id')
      .limit(1)
      .executeTakeFirst();
  }

  /** The tenant's recorded chain head; undefined before its first entry. */
  async head(tenant: string): Promise<ChainHead | undefined> {
    const row = await this.database.db
      .selectFrom('audit_heads')
      .select(['seq', 'hash'])
      .where('tenant_id', '=', tenant)
      .executeTakeFirst();
    return row === undefined ? undefined : { seq: Number(row.seq), hash: row.hash };
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

/**
 * The row to insert for an entry after `head`: exactly the chained fields (a field the entry
 * left out, as an entry kept as JSON in an intent may, is null), so what is stored is what was
 * hashed.
 */
function chainedEntry(entry: HistoryEntry, head: ChainHead): ChainedEntry {
  const source = entry as unknown as Partial<ChainedEntry>;
  const row = {} as ChainedEntry;
  for (const field of CHAINED_FIELDS) row[field] = source[field] ?? null;
  row.seq = head.seq + 1;
  row.prev_hash = head.hash;
  return row;
}
