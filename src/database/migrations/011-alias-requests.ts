import { Kysely, sql } from 'kysely';

/* eslint-disable @typescript-eslint/no-explicit-any -- migrations are written against the
   schema as it was, not the current TypeScript types */

export async function up(db: Kysely<any>): Promise<void> {
  // A request to set or move a protected alias (@champion) names it; null for stage requests.
  await db.schema.alterTable('approvals').addColumn('target_alias', 'text').execute();
  // One pending request per version and target: a production request and an @champion request
  // of the same version may wait side by side, two of either may not.
  await sql`DROP INDEX approvals_one_pending`.execute(db);
  await sql`CREATE UNIQUE INDEX approvals_one_pending ON approvals (tenant_id, model_name, version, (coalesce(target_alias, ''))) WHERE status = 'pending'`.execute(
    db,
  );
}
