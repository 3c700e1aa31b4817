import { Kysely, sql } from 'kysely';

/* eslint-disable @typescript-eslint/no-explicit-any -- migrations are written against the
   schema as it was, not the current TypeScript types */

export async function up(db: Kysely<any>): Promise<void> {
  // A `sub` names a user only within its tenant: an admin of another tenant acting here with
  // `?tenant_id=` may carry the same `sub` as a user of this one. Approvals record the tenant
  // of the requester and of the decider beside their `sub`, and four eyes and cancel compare
  // both. SQLite takes one column per ALTER TABLE and cannot make an added column NOT NULL
  // without a default, so both are nullable; the service writes them on every row, and reads
  // a null one as the approval's own tenant (a row an older replica writes during an upgrade).
  await db.schema.alterTable('approvals').addColumn('requested_by_tenant', 'text').execute();
  await db.schema.alterTable('approvals').addColumn('decided_by_tenant', 'text').execute();
  // Every existing row was recorded by the sub alone, and a sub alone means a user of the
  // approval's tenant: that is what the rows are backfilled with.
  await sql`UPDATE approvals SET requested_by_tenant = tenant_id`.execute(db);
  await sql`UPDATE approvals SET decided_by_tenant = tenant_id WHERE decided_by IS NOT NULL`.execute(
    db,
  );

  // The history names people too (the actor; the requester and approver of an approved
  // transition). It is append-only (triggers refuse every UPDATE), so its existing rows are
  // not backfilled: a null tenant there reads as the entry's own tenant, which is what those
  // rows meant.
  await db.schema.alterTable('history').addColumn('actor_tenant', 'text').execute();
  await db.schema.alterTable('history').addColumn('requested_by_tenant', 'text').execute();
  await db.schema.alterTable('history').addColumn('approved_by_tenant', 'text').execute();
}
