import { Kysely, PostgresAdapter, sql } from 'kysely';

/* eslint-disable @typescript-eslint/no-explicit-any -- migrations are written against the
   schema as it was, not the current TypeScript types */

export async function up(db: Kysely<any>): Promise<void> {
  // The audit trail is append-only in the database itself, not only by the service's habits:
  // an UPDATE, DELETE (or, on PostgreSQL, TRUNCATE) of history fails, whoever issues it.
  if (db.getExecutor().adapter instanceof PostgresAdapter) {
    await sql`
      CREATE FUNCTION history_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        RAISE EXCEPTION 'history is append-only: % refused', TG_OP;
      END
      $$`.execute(db);
    await sql`
      CREATE TRIGGER history_append_only BEFORE UPDATE OR DELETE ON history
      FOR EACH ROW EXECUTE FUNCTION history_append_only()`.execute(db);
    await sql`
      CREATE TRIGGER history_no_truncate BEFORE TRUNCATE ON history
      FOR EACH STATEMENT EXECUTE FUNCTION history_append_only()`.execute(db);
  } else {
    await sql`
      CREATE TRIGGER history_no_update BEFORE UPDATE ON history
      BEGIN SELECT RAISE(ABORT, 'history is append-only: UPDATE refused'); END`.execute(db);
    await sql`
      CREATE TRIGGER history_no_delete BEFORE DELETE ON history
      BEGIN SELECT RAISE(ABORT, 'history is append-only: DELETE refused'); END`.execute(db);
  }

  // Idempotency-Key: the first answer to a POST, kept for the same caller's retries.
  await db.schema
    .createTable('idempotency_keys')
    .addColumn('tenant_id', 'text', (c) => c.notNull())
    .addColumn('subject', 'text', (c) => c.notNull())
    .addColumn('idem_key', 'text', (c) => c.notNull())
    .addColumn('method', 'text', (c) => c.notNull())
    .addColumn('path', 'text', (c) => c.notNull())
    // What the request asked for (a digest of its body); null until known (an upload's is its
    // files' digests, known once received).
    .addColumn('fingerprint', 'text')
    .addColumn('state', 'text', (c) => c.notNull()) // in_progress | done
    // Which attempt holds an in_progress key: only it may record the answer.
    .addColumn('owner', 'text', (c) => c.notNull())
    .addColumn('lease_until', 'bigint', (c) => c.notNull())
    .addColumn('status_code', 'integer')
    .addColumn('response_body', 'text')
    .addColumn('location', 'text')
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('expires_at', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('idempotency_keys_pk', ['tenant_id', 'subject', 'idem_key'])
    .execute();
  await db.schema
    .createIndex('idempotency_keys_expiry')
    .on('idempotency_keys')
    .column('expires_at')
    .execute();

  // A direct stage transition or a deletion is written here before the registry backend is
  // asked to make it, and removed in the transaction that records it in history: a process that
  // dies in between leaves the intent, and the reconciler records what the backend shows.
  await db.schema
    .createTable('transition_intents')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('kind', 'text', (c) => c.notNull()) // transition | delete_version | delete_model
    .addColumn('tenant_id', 'text', (c) => c.notNull())
    .addColumn('model_name', 'text', (c) => c.notNull())
    .addColumn('model_uid', 'text', (c) => c.notNull())
    .addColumn('version', 'integer', (c) => c.notNull()) // 0 for a whole model
    .addColumn('from_stage', 'text')
    .addColumn('to_stage', 'text')
    // The history entries to record once the backend shows the move (JSON).
    .addColumn('entries', 'text', (c) => c.notNull())
    .addColumn('lease_until', 'bigint', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .execute();
}
