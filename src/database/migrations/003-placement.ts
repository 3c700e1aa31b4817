import { Kysely } from 'kysely';

/* eslint-disable @typescript-eslint/no-explicit-any -- migrations are written against the
   schema as it was, not the current TypeScript types */

export async function up(db: Kysely<any>): Promise<void> {
  // Where an artifact's files live once registered (`<tenant>/<model>/v<version>/`); null while
  // they are still where the upload put them (`<tenant>/artifacts/<artifact_id>/`).
  await db.schema.alterTable('artifacts').addColumn('location', 'text').execute();

  // One registration at a time per model, across replicas: the version number a registration
  // places its files under is predicted, so two at once would predict the same one.
  await db.schema
    .createTable('registration_locks')
    .addColumn('tenant_id', 'text', (c) => c.notNull())
    .addColumn('model_name', 'text', (c) => c.notNull())
    .addColumn('holder', 'text', (c) => c.notNull())
    .addColumn('expires_at', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('registration_locks_pk', ['tenant_id', 'model_name'])
    .execute();
}
