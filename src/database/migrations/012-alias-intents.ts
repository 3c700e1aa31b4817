import { Kysely } from 'kysely';

/* eslint-disable @typescript-eslint/no-explicit-any -- migrations are written against the
   schema as it was, not the current TypeScript types */

export async function up(db: Kysely<any>): Promise<void> {
  // An alias set, moved or deleted in the registry backend is written down first, like a stage
  // transition: the alias it names (null for the other kinds).
  await db.schema.alterTable('transition_intents').addColumn('alias', 'text').execute();
}
