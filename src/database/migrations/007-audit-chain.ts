import { Kysely, PostgresAdapter, sql } from 'kysely';
import { entryHash, GENESIS_HASH } from '../../audit/audit-chain';

/* eslint-disable @typescript-eslint/no-explicit-any -- migrations are written against the
   schema as it was, not the current TypeScript types */

/** Rows chained per UPDATE round trip batch (read in id order, a page at a time). */
const PAGE = 1000;

export async function up(db: Kysely<any>): Promise<void> {
  // Kysely runs PostgreSQL's migrations in a transaction, not SQLite's: this one lifts a
  // trigger and rewrites every row, so it is all or nothing there too.
  if (db.isTransaction) return chain(db);
  await db.transaction().execute((trx) => chain(trx));
}

async function chain(db: Kysely<any>): Promise<void> {
  const postgres = db.getExecutor().adapter instanceof PostgresAdapter;

  // Structured facts of an entry that its fixed columns do not hold (votes, gate results,
  // policy bodies, alias moves): a JSON object as text, null when there are none.
  await db.schema.alterTable('history').addColumn('details', 'text').execute();

  // The hash chain (src/audit/audit-chain.ts): each tenant's entries numbered 1, 2, 3, ...,
  // each holding the previous one's hash and its own. SQLite cannot add a NOT NULL column
  // without a default; PostgreSQL gets the constraint once the rows are filled.
  await db.schema.alterTable('history').addColumn('seq', 'bigint').execute();
  await db.schema.alterTable('history').addColumn('prev_hash', 'text').execute();
  await db.schema.alterTable('history').addColumn('hash', 'text').execute();

  // The head of each tenant's chain: its last entry's seq and hash. Appends lock it, which
  // serializes them per tenant across replicas, and verification compares it with the last
  // entry, which is how deleting the newest entries shows.
  await db.schema
    .createTable('audit_heads')
    .addColumn('tenant_id', 'text', (c) => c.primaryKey())
    .addColumn('seq', 'bigint', (c) => c.notNull())
    .addColumn('hash', 'text', (c) => c.notNull())
    .execute();

  // The rows from before are chained in id order (the order they were appended), with the
  // append-only UPDATE trigger of 004 lifted for this transaction's updates only.
  if (postgres) {
    await sql`DROP TRIGGER history_append_only ON history`.execute(db);
  } else {
    await sql`DROP TRIGGER history_no_update`.execute(db);
  }
  const heads = new Map<string, { seq: number; hash: string }>();
  for (let after = 0; ;) {
    const rows: Record<string, unknown>[] = await db
      .selectFrom('history')
      .selectAll()
      .where('id', '>', after)
      .orderBy('id')
      .limit(PAGE)
      .execute();
    if (rows.length === 0) break;
    for (const row of rows) {
      const tenant = row['tenant_id'] as string;
      const head = heads.get(tenant) ?? { seq: 0, hash: GENESIS_HASH };
      // Integers as numbers whatever the driver reads a bigint as (the hash tells 2 from "2").
      const chained = {
        ...row,
        version: Number(row['version']),
        at: Number(row['at']),
        details: null,
        seq: head.seq + 1,
        prev_hash: head.hash,
      };
      const hash = entryHash(chained);
      await db
        .updateTable('history')
        .set({ seq: chained.seq, prev_hash: chained.prev_hash, hash })
        .where('id', '=', row['id'])
        .execute();
      heads.set(tenant, { seq: chained.seq, hash });
    }
    after = Number(rows[rows.length - 1]['id']);
  }
  if (heads.size > 0) {
    await db
      .insertInto('audit_heads')
      .values([...heads].map(([tenant_id, head]) => ({ tenant_id, ...head })))
      .execute();
  }
  if (postgres) {
    await sql`
      CREATE TRIGGER history_append_only BEFORE UPDATE OR DELETE ON history
      FOR EACH ROW EXECUTE FUNCTION history_append_only()`.execute(db);
    for (const column of ['seq', 'prev_hash', 'hash']) {
      await sql`ALTER TABLE history ALTER COLUMN ${sql.ref(column)} SET NOT NULL`.execute(db);
    }
  } else {
    await sql`
      CREATE TRIGGER history_no_update BEFORE UPDATE ON history
      BEGIN SELECT RAISE(ABORT, 'history is append-only: UPDATE refused'); END`.execute(db);
  }

  // One entry per place in a tenant's chain, enforced by the database whatever a writer does;
  // also the index `GET /audit` and verification walk.
  await db.schema
    .createIndex('history_tenant_seq')
    .on('history')
    .columns(['tenant_id', 'seq'])
    .unique()
    .execute();
}
