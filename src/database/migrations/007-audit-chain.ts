import { Kysely } from 'kysely';

/* eslint-disable @typescript-eslint/no-explicit-any -- migrations are written against the
   schema as it was, not the current TypeScript types */

export async function up(db: Kysely<any>): Promise<void> {
  // Structured facts of an entry that its fixed columns do not hold (votes, gate results,
  // policy bodies, alias moves): a JSON object as text, null when there are none.
  await db.schema.alterTable('history').addColumn('details', 'text').execute();
}
