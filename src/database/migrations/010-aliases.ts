import { Kysely } from 'kysely';

/* eslint-disable @typescript-eslint/no-explicit-any -- migrations are written against the
   schema as it was, not the current TypeScript types */

export async function up(db: Kysely<any>): Promise<void> {
  // The embedded registry's aliases (MLflow's `registered_model_aliases`): an alias names one
  // version of one model, so (model_id, alias) is the key; setting it again moves it.
  await db.schema
    .createTable('reg_aliases')
    .addColumn('model_id', 'integer', (c) => c.notNull())
    .addColumn('alias', 'text', (c) => c.notNull())
    .addColumn('version', 'integer', (c) => c.notNull())
    .addPrimaryKeyConstraint('reg_aliases_pk', ['model_id', 'alias'])
    .execute();
  // A version's aliases (get version, delete version) without reading the model's others.
  await db.schema
    .createIndex('reg_aliases_version')
    .on('reg_aliases')
    .columns(['model_id', 'version'])
    .execute();
}
