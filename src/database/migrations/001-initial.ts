import { ColumnDefinitionBuilder, Kysely, PostgresAdapter, sql } from 'kysely';

/* eslint-disable @typescript-eslint/no-explicit-any -- migrations are written against the
   schema as it was, not the current TypeScript types */

/** SQLite spells an auto-increment key `integer ... autoincrement`, PostgreSQL `serial`. */
function autoId(db: Kysely<any>) {
  const postgres = db.getExecutor().adapter instanceof PostgresAdapter;
  return postgres
    ? (['serial', (c: ColumnDefinitionBuilder) => c.primaryKey()] as const)
    : (['integer', (c: ColumnDefinitionBuilder) => c.primaryKey().autoIncrement()] as const);
}

export async function up(db: Kysely<any>): Promise<void> {
  const [idType, idColumn] = autoId(db);
  await db.schema
    .createTable('reg_models')
    .addColumn('id', idType, idColumn)
    .addColumn('tenant_id', 'text', (c) => c.notNull())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('description', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('last_updated_at', 'bigint', (c) => c.notNull())
    .addColumn('next_version', 'integer', (c) => c.notNull().defaultTo(1))
    .addUniqueConstraint('reg_models_tenant_name', ['tenant_id', 'name'])
    .execute();

  await db.schema
    .createTable('reg_model_tags')
    .addColumn('model_id', 'integer', (c) => c.notNull())
    .addColumn('key', 'text', (c) => c.notNull())
    .addColumn('value', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('reg_model_tags_pk', ['model_id', 'key'])
    .execute();

  await db.schema
    .createTable('reg_versions')
    .addColumn('model_id', 'integer', (c) => c.notNull())
    .addColumn('version', 'integer', (c) => c.notNull())
    .addColumn('stage', 'text', (c) => c.notNull())
    .addColumn('description', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('source', 'text', (c) => c.notNull())
    .addColumn('run_id', 'text')
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('last_updated_at', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('reg_versions_pk', ['model_id', 'version'])
    .execute();
  await db.schema
    .createIndex('reg_versions_stage')
    .on('reg_versions')
    .columns(['model_id', 'stage', 'version'])
    .execute();

  await db.schema
    .createTable('reg_version_tags')
    .addColumn('model_id', 'integer', (c) => c.notNull())
    .addColumn('version', 'integer', (c) => c.notNull())
    .addColumn('key', 'text', (c) => c.notNull())
    .addColumn('value', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('reg_version_tags_pk', ['model_id', 'version', 'key'])
    .execute();

  await db.schema
    .createTable('reg_runs')
    .addColumn('run_id', 'text', (c) => c.primaryKey())
    .addColumn('tenant_id', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema
    .createTable('reg_run_metrics')
    .addColumn('run_id', 'text', (c) => c.notNull())
    .addColumn('key', 'text', (c) => c.notNull())
    .addColumn('value', 'double precision', (c) => c.notNull())
    .addPrimaryKeyConstraint('reg_run_metrics_pk', ['run_id', 'key'])
    .execute();
  await db.schema
    .createTable('reg_run_params')
    .addColumn('run_id', 'text', (c) => c.notNull())
    .addColumn('key', 'text', (c) => c.notNull())
    .addColumn('value', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('reg_run_params_pk', ['run_id', 'key'])
    .execute();

  await db.schema
    .createTable('artifacts')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('tenant_id', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('created_by', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('files', 'text', (c) => c.notNull().defaultTo('[]'))
    .addColumn('model_name', 'text')
    .addColumn('claimed_at', 'bigint')
    .addColumn('model_version', 'integer')
    .addColumn('registered_at', 'bigint')
    .execute();
  await db.schema
    .createIndex('artifacts_tenant_status')
    .on('artifacts')
    .columns(['tenant_id', 'status'])
    .execute();

  await db.schema
    .createTable('approvals')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('tenant_id', 'text', (c) => c.notNull())
    .addColumn('model_name', 'text', (c) => c.notNull())
    .addColumn('model_uid', 'text', (c) => c.notNull())
    .addColumn('version', 'integer', (c) => c.notNull())
    .addColumn('target_stage', 'text', (c) => c.notNull())
    .addColumn('archive_existing_versions', 'integer', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('requested_by', 'text', (c) => c.notNull())
    .addColumn('requested_at', 'bigint', (c) => c.notNull())
    .addColumn('request_comment', 'text')
    .addColumn('decided_by', 'text')
    .addColumn('decided_at', 'bigint')
    .addColumn('decision_comment', 'text')
    .addColumn('apply_state', 'text', (c) => c.notNull().defaultTo('none'))
    .addColumn('applied_at', 'bigint')
    .addColumn('apply_attempts', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('last_apply_error', 'text')
    .execute();
  // The database, not the process, guarantees one pending request per version: two
  // replicas racing to create one both run this INSERT and exactly one succeeds.
  await sql`CREATE UNIQUE INDEX approvals_one_pending ON approvals (tenant_id, model_name, version) WHERE status = 'pending'`.execute(
    db,
  );
  await db.schema
    .createIndex('approvals_apply_state')
    .on('approvals')
    .columns(['apply_state', 'decided_at'])
    .execute();
  await db.schema
    .createIndex('approvals_tenant_status')
    .on('approvals')
    .columns(['tenant_id', 'status', 'requested_at'])
    .execute();

  await db.schema
    .createTable('history')
    .addColumn('id', idType, idColumn)
    .addColumn('tenant_id', 'text', (c) => c.notNull())
    .addColumn('model_name', 'text', (c) => c.notNull())
    .addColumn('model_uid', 'text', (c) => c.notNull())
    .addColumn('version', 'integer', (c) => c.notNull())
    .addColumn('event', 'text', (c) => c.notNull())
    .addColumn('from_stage', 'text')
    .addColumn('to_stage', 'text')
    .addColumn('actor', 'text', (c) => c.notNull())
    .addColumn('at', 'bigint', (c) => c.notNull())
    .addColumn('comment', 'text')
    .addColumn('approval_id', 'text')
    .addColumn('requested_by', 'text')
    .addColumn('approved_by', 'text')
    .execute();
  await db.schema
    .createIndex('history_version')
    .on('history')
    .columns(['tenant_id', 'model_name', 'model_uid', 'version', 'id'])
    .execute();
}
