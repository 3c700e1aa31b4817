import { ColumnDefinitionBuilder, Kysely, PostgresAdapter } from 'kysely';

/* eslint-disable @typescript-eslint/no-explicit-any -- migrations are written against the
   schema as it was, not the current TypeScript types */

/** SQLite spells an auto-increment key `integer ... autoincrement`, PostgreSQL `serial`. */
function autoId(db: Kysely<any>) {
  const postgres = db.getExecutor().adapter instanceof PostgresAdapter;
  return postgres
    ? (['bigserial', (c: ColumnDefinitionBuilder) => c.primaryKey()] as const)
    : (['integer', (c: ColumnDefinitionBuilder) => c.primaryKey().autoIncrement()] as const);
}

export async function up(db: Kysely<any>): Promise<void> {
  // Webhook subscriptions, per tenant. During a rotation the previous secret signs too, until
  // previous_secret_until.
  await db.schema
    .createTable('webhooks')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('tenant_id', 'text', (c) => c.notNull())
    .addColumn('url', 'text', (c) => c.notNull())
    .addColumn('events', 'text', (c) => c.notNull()) // JSON array of event types, or ["*"]
    .addColumn('description', 'text')
    .addColumn('secret', 'text', (c) => c.notNull())
    .addColumn('previous_secret', 'text')
    .addColumn('previous_secret_until', 'bigint')
    .addColumn('active', 'integer', (c) => c.notNull())
    .addColumn('disabled_reason', 'text')
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('webhooks_tenant').on('webhooks').column('tenant_id').execute();

  // The outbox: one row per event, written in the transaction of the change it reports.
  await db.schema
    .createTable('event_outbox')
    .addColumn('id', 'text', (c) => c.primaryKey()) // evt_...
    .addColumn('tenant_id', 'text', (c) => c.notNull())
    .addColumn('type', 'text', (c) => c.notNull())
    .addColumn('payload', 'text', (c) => c.notNull()) // the JSON body every receiver gets
    .addColumn('occurred_at', 'bigint', (c) => c.notNull())
    .execute();

  // One delivery per (event, matching webhook), fanned out in the same transaction. `seq`
  // orders them; `order_key` (tenant + model) is what must be delivered in order.
  const [seqType, seqColumn] = autoId(db);
  await db.schema
    .createTable('webhook_deliveries')
    .addColumn('seq', seqType, seqColumn)
    .addColumn('id', 'text', (c) => c.notNull().unique()) // dlv_...
    .addColumn('webhook_id', 'text', (c) => c.notNull())
    .addColumn('tenant_id', 'text', (c) => c.notNull())
    .addColumn('event_id', 'text', (c) => c.notNull())
    .addColumn('event_type', 'text', (c) => c.notNull())
    .addColumn('order_key', 'text')
    .addColumn('status', 'text', (c) => c.notNull()) // pending | succeeded | failed
    .addColumn('attempts', 'integer', (c) => c.notNull())
    .addColumn('next_attempt_at', 'bigint')
    .addColumn('last_attempt_at', 'bigint')
    .addColumn('last_response_code', 'integer')
    .addColumn('last_error', 'text')
    .addColumn('lease_owner', 'text')
    .addColumn('lease_until', 'bigint')
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema
    .createIndex('webhook_deliveries_due')
    .on('webhook_deliveries')
    .columns(['status', 'next_attempt_at'])
    .execute();
  await db.schema
    .createIndex('webhook_deliveries_webhook')
    .on('webhook_deliveries')
    .columns(['webhook_id', 'seq'])
    .execute();

  // A direct transition or deletion carries its events in its intent: recorded with its
  // history entries, by the request or by the reconciler after a crash.
  await db.schema.alterTable('transition_intents').addColumn('events', 'text').execute();
}
