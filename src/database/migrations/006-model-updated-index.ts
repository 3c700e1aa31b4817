import { Kysely } from 'kysely';

/* eslint-disable @typescript-eslint/no-explicit-any -- migrations are written against the
   schema as it was, not the current TypeScript types */

export async function up(db: Kysely<any>): Promise<void> {
  // `GET /models?order_by=last_updated`: a tenant's models newest first, ties by name, walked
  // in index order so a page reads only its rows (without it, every model of the tenant is
  // read, with its latest versions and tags, and sorted, for each page).
  await db.schema
    .createIndex('reg_models_tenant_updated')
    .on('reg_models')
    .columns(['tenant_id', 'last_updated_at desc', 'name'])
    .execute();
}
