import { Kysely } from 'kysely';

/* eslint-disable @typescript-eslint/no-explicit-any -- migrations are written against the
   schema as it was, not the current TypeScript types */

export async function up(db: Kysely<any>): Promise<void> {
  // Promotion policies, stored as data: one per (tenant, stage) with model_name '' for the
  // tenant's, and one per (tenant, model, stage) for a model's override.
  await db.schema
    .createTable('policies')
    .addColumn('tenant_id', 'text', (c) => c.notNull())
    .addColumn('model_name', 'text', (c) => c.notNull())
    .addColumn('stage', 'text', (c) => c.notNull())
    .addColumn('body', 'text', (c) => c.notNull()) // JSON, the policy as set
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .addColumn('updated_by', 'text', (c) => c.notNull())
    .addColumn('updated_by_tenant', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('policies_pk', ['tenant_id', 'model_name', 'stage'])
    .execute();

  // A request carries the rules it was opened under and its evidence. Rows from before this
  // migration read as today's workflow: one vote from an approver or admin, no gates, no expiry.
  await db.schema
    .alterTable('approvals')
    .addColumn('kind', 'text', (c) => c.notNull().defaultTo('promotion'))
    .execute();
  await db.schema
    .alterTable('approvals')
    .addColumn('required_approvals', 'integer', (c) => c.notNull().defaultTo(1))
    .execute();
  await db.schema
    .alterTable('approvals')
    .addColumn('vote_count', 'integer', (c) => c.notNull().defaultTo(0))
    .execute();
  // JSON array of roles; null: the policy-less rule (whoever may decide: approver or admin).
  await db.schema.alterTable('approvals').addColumn('approver_roles', 'text').execute();
  // JSON: the gates, no-regression rules and required tags in force when it was opened.
  await db.schema.alterTable('approvals').addColumn('rules', 'text').execute();
  // JSON: the latest evaluation of those rules.
  await db.schema.alterTable('approvals').addColumn('gates', 'text').execute();
  await db.schema.alterTable('approvals').addColumn('expires_at', 'bigint').execute();
  await db.schema.alterTable('approvals').addColumn('artifact_sha256', 'text').execute();
  // Why an approved transition was not applied and never will be (ARTIFACT_INTEGRITY_FAILED).
  await db.schema.alterTable('approvals').addColumn('apply_error_code', 'text').execute();
  await db.schema
    .createIndex('approvals_expiry')
    .on('approvals')
    .columns(['status', 'expires_at'])
    .execute();

  // One row per vote: the primary key counts each voter once, whatever races.
  await db.schema
    .createTable('approval_votes')
    .addColumn('approval_id', 'text', (c) => c.notNull())
    .addColumn('voter_tenant', 'text', (c) => c.notNull())
    .addColumn('voter', 'text', (c) => c.notNull())
    .addColumn('at', 'bigint', (c) => c.notNull())
    .addColumn('comment', 'text')
    .addPrimaryKeyConstraint('approval_votes_pk', ['approval_id', 'voter_tenant', 'voter'])
    .execute();
}
