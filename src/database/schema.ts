import type { Generated } from 'kysely';
import { Stage } from '../mlflow/registry-types';

// ---- what the status columns hold ----
// The values are stored as text. A column is typed with its enum's values (`${ApprovalStatus}`:
// 'pending' | 'approved' | ...), so a query, an insert or a test can write the enum member or
// the literal, and the compiler refuses anything else (a typo, another enum's value).

export enum ArtifactStatus {
  Uploading = 'uploading',
  Ready = 'ready',
}

export enum ApprovalStatus {
  Pending = 'pending',
  Approved = 'approved',
  Rejected = 'rejected',
  Cancelled = 'cancelled',
  /** Nobody decided within the policy's request_ttl_seconds. */
  Expired = 'expired',
}

/** What an approval request asks for (migration 008). */
export enum ApprovalKind {
  /** To production. */
  Promotion = 'promotion',
  /** The version in production to another stage, under a production policy. */
  Demotion = 'demotion',
  /** Back to a version that was in production before. */
  Rollback = 'rollback',
}

export enum ApplyState {
  None = 'none',
  Pending = 'pending',
  Applied = 'applied',
  Abandoned = 'abandoned',
  /** Approved but never to be applied: the stored model file is not the one reviewed. */
  Failed = 'failed',
}

export enum HistoryEvent {
  Registered = 'registered',
  Transition = 'transition',
  ApprovalRequested = 'approval_requested',
  ApprovalApproved = 'approval_approved',
  ApprovalRejected = 'approval_rejected',
  ApprovalCancelled = 'approval_cancelled',
  /** One approver's vote on a request that needs more than one (migration 008). */
  ApprovalVoteAdded = 'approval_vote_added',
  ApprovalExpired = 'approval_expired',
  /** An approved transition refused before it was applied (ARTIFACT_INTEGRITY_FAILED). */
  ApprovalApplyFailed = 'approval_apply_failed',
  PolicySet = 'policy_set',
  PolicyDeleted = 'policy_deleted',
  Deleted = 'deleted',
  /** An alias was set on the version, or moved to it (migration 010). */
  AliasSet = 'alias_set',
  /** An alias was deleted from the version, or moved away from it (migration 010). */
  AliasDeleted = 'alias_deleted',
}

export enum IntentKind {
  Transition = 'transition',
  DeleteVersion = 'delete_version',
  DeleteModel = 'delete_model',
  /** An alias set or moved onto `version`. Migration 012. */
  SetAlias = 'set_alias',
  /** An alias deleted from `version`. Migration 012. */
  DeleteAlias = 'delete_alias',
}

/** An Idempotency-Key's record: its first request still running, or its answer kept. */
export enum IdempotencyState {
  InProgress = 'in_progress',
  Done = 'done',
}

/*
 * One database holds two groups of tables:
 *  - reg_*: the embedded registry backend (MLflow's data model: registered models, versions,
 *    tags, runs with metrics and parameters). Unused when a real MLflow server is configured.
 *  - artifacts, approvals, history: the service's own records (artifact manifests, the approval
 *    workflow, the audit trail). Always here, whatever the registry backend.
 * Times are milliseconds since the epoch (UTC), bigint columns read back as numbers on both
 * databases (see postgres.ts). Booleans are 0/1 integers so that the same queries run on SQLite
 * and PostgreSQL. Text compares and sorts by code point on both (model names are "C"-collated
 * on PostgreSQL).
 */

export interface RegModelsTable {
  id: Generated<number>;
  tenant_id: string;
  name: string;
  description: string;
  created_at: number;
  last_updated_at: number;
  /** Next version number: numbers are never reused, even after a version is deleted. */
  next_version: number;
}

export interface RegModelTagsTable {
  model_id: number;
  key: string;
  value: string;
}

export interface RegVersionsTable {
  model_id: number;
  version: number;
  stage: `${Stage}`;
  description: string;
  source: string;
  run_id: string | null;
  created_at: number;
  last_updated_at: number;
}

export interface RegVersionTagsTable {
  model_id: number;
  version: number;
  key: string;
  value: string;
}

export interface RegRunsTable {
  run_id: string;
  tenant_id: string;
  created_at: number;
}

export interface RegRunMetricsTable {
  run_id: string;
  key: string;
  value: number;
}

export interface RegRunParamsTable {
  run_id: string;
  key: string;
  /** JSON-encoded so that numbers, strings and booleans keep their type. */
  value: string;
}

/** The embedded registry's aliases: one alias names one version of a model. Migration 010. */
export interface RegAliasesTable {
  model_id: number;
  alias: string;
  version: number;
}

export interface ArtifactsTable {
  id: string;
  tenant_id: string;
  /** 'uploading' while bytes are being written; 'ready' once every file is stored. */
  status: `${ArtifactStatus}`;
  created_by: string;
  created_at: number;
  /** JSON array of {name, size, sha256, content_type}. */
  files: string;
  /** The model a registration claimed this artifact for, and when (see ArtifactsService.claim). */
  model_name: string | null;
  claimed_at: number | null;
  model_version: number | null;
  registered_at: number | null;
  /**
   * Where the files live once registered (`<tenant>/<model>/v<version>/`); null while they are
   * where the upload put them (`<tenant>/artifacts/<artifact_id>/`). Migration 003.
   */
  location: string | null;
}

export interface ApprovalsTable {
  id: string;
  tenant_id: string;
  model_name: string;
  model_uid: string;
  version: number;
  target_stage: `${Stage}`;
  archive_existing_versions: number;
  status: `${ApprovalStatus}`;
  /** The requester is (requested_by_tenant, requested_by): a `sub` is unique only within its tenant. */
  requested_by: string;
  /**
   * The requester's own tenant (an admin of another tenant may request here). Migration 005:
   * backfilled with `tenant_id`; written on every new row; null (a row an older replica wrote)
   * reads as `tenant_id`.
   */
  requested_by_tenant: string | null;
  requested_at: number;
  request_comment: string | null;
  decided_by: string | null;
  /** The decider's own tenant, set with `decided_by` (migration 005; null reads as `tenant_id`). */
  decided_by_tenant: string | null;
  decided_at: number | null;
  decision_comment: string | null;
  /**
   * none (not approved), pending (approved, transition not applied yet: the backend was
   * down), applied, or abandoned (the version was deleted before it could be applied).
   */
  apply_state: `${ApplyState}`;
  /** Set once an approved transition has been applied to the registry backend. */
  applied_at: number | null;
  apply_attempts: number;
  last_apply_error: string | null;
  /**
   * The process applying the approved transition right now, and until when its claim holds
   * (ms): replicas sharing the database apply each approval once (ApprovalsService).
   */
  apply_lease_owner: string | null;
  apply_lease_until: number | null;
  /** Migration 008 (governance). */
  kind: Generated<`${ApprovalKind}`>;
  required_approvals: Generated<number>;
  vote_count: Generated<number>;
  /** JSON array of roles; null: whoever may decide (approver, admin), the policy-less rule. */
  approver_roles: string | null;
  /** JSON RequestRules: the gates, no-regression rules and required tags it was opened under. */
  rules: string | null;
  /** JSON GateResult[]: the latest evaluation. */
  gates: string | null;
  expires_at: number | null;
  artifact_sha256: string | null;
  apply_error_code: string | null;
  /** Migration 011: the protected alias a request sets or moves; null for a stage request. */
  target_alias: string | null;
}

/** Promotion policies (migration 008); `model_name` '' is the tenant's own. */
export interface PoliciesTable {
  tenant_id: string;
  model_name: string;
  stage: `${Stage}`;
  body: string;
  updated_at: number;
  updated_by: string;
  updated_by_tenant: string;
}

/** One approver's vote (migration 008): the key counts each person once. */
export interface ApprovalVotesTable {
  approval_id: string;
  voter_tenant: string;
  voter: string;
  at: number;
  comment: string | null;
}

export interface HistoryTable {
  id: Generated<number>;
  tenant_id: string;
  model_name: string;
  model_uid: string;
  version: number;
  event: `${HistoryEvent}`;
  from_stage: `${Stage}` | null;
  to_stage: `${Stage}` | null;
  actor: string;
  /**
   * The tenants of the people named (an admin of another tenant may act here). Migration 005;
   * the table is append-only, so entries from before it keep null, which reads as `tenant_id`.
   */
  actor_tenant: string | null;
  at: number;
  comment: string | null;
  approval_id: string | null;
  requested_by: string | null;
  requested_by_tenant: string | null;
  approved_by: string | null;
  approved_by_tenant: string | null;
  /**
   * Structured facts other than the columns above (votes, gate results, policy bodies, alias
   * moves): a JSON object as text, null when none. Part of the entry's hash. Migration 007.
   */
  details: string | null;
  /**
   * The tenant's hash chain (migration 007; see src/audit/audit-chain.ts): the entry's place
   * in its tenant's history (1, 2, 3, ... without gaps), the previous entry's hash and
   * sha256(prev_hash + canonical JSON of the entry).
   */
  seq: number;
  prev_hash: string;
  hash: string;
}

/** Each tenant's chain head: its last history entry's seq and hash. Migration 007. */
export interface AuditHeadsTable {
  tenant_id: string;
  seq: number;
  hash: string;
}

/** One registration at a time per model, across replicas (ModelLock). Migration 003. */
export interface RegistrationLocksTable {
  tenant_id: string;
  model_name: string;
  holder: string;
  expires_at: number;
}

/** Idempotency-Key records: the first answer to a POST, per caller and key. Migration 004. */
export interface IdempotencyKeysTable {
  tenant_id: string;
  subject: string;
  idem_key: string;
  method: string;
  path: string;
  fingerprint: string | null;
  state: `${IdempotencyState}`;
  owner: string;
  lease_until: number;
  status_code: number | null;
  response_body: string | null;
  location: string | null;
  created_at: number;
  expires_at: number;
}

/** Direct stage transitions and deletions asked of the backend, not yet recorded. Migration 004. */
export interface TransitionIntentsTable {
  id: string;
  kind: `${IntentKind}`;
  tenant_id: string;
  model_name: string;
  model_uid: string;
  version: number;
  from_stage: `${Stage}` | null;
  to_stage: `${Stage}` | null;
  entries: string;
  lease_until: number;
  created_at: number;
  /** The events to record with the entries (JSON array); null for an older row. Migration 009. */
  events: string | null;
  /** The alias a set_alias/delete_alias intent names; null for the other kinds. Migration 012. */
  alias: string | null;
}

export enum DeliveryStatus {
  Pending = 'pending',
  Succeeded = 'succeeded',
  Failed = 'failed',
}

/** A webhook subscription (src/events). Migration 009. */
export interface WebhooksTable {
  id: string;
  tenant_id: string;
  url: string;
  /** JSON array of event types, `*` for all. */
  events: string;
  description: string | null;
  secret: string;
  /** The secret before the last rotation: it signs too until previous_secret_until. */
  previous_secret: string | null;
  previous_secret_until: number | null;
  active: number;
  disabled_reason: string | null;
  created_at: number;
  updated_at: number;
}

/** An event, as every receiver gets it (payload: the JSON body). Migration 009. */
export interface EventOutboxTable {
  id: string;
  tenant_id: string;
  type: string;
  payload: string;
  occurred_at: number;
}

/** One event to one webhook, with its attempts. Migration 009. */
export interface WebhookDeliveriesTable {
  seq: Generated<number>;
  id: string;
  webhook_id: string;
  tenant_id: string;
  event_id: string;
  event_type: string;
  /** Deliveries with the same key (a model) go out in `seq` order; null: no order. */
  order_key: string | null;
  status: `${DeliveryStatus}`;
  attempts: number;
  next_attempt_at: number | null;
  last_attempt_at: number | null;
  last_response_code: number | null;
  last_error: string | null;
  lease_owner: string | null;
  lease_until: number | null;
  created_at: number;
}

export interface DatabaseSchema {
  reg_models: RegModelsTable;
  reg_model_tags: RegModelTagsTable;
  reg_versions: RegVersionsTable;
  reg_version_tags: RegVersionTagsTable;
  reg_runs: RegRunsTable;
  reg_run_metrics: RegRunMetricsTable;
  reg_run_params: RegRunParamsTable;
  reg_aliases: RegAliasesTable;
  artifacts: ArtifactsTable;
  approvals: ApprovalsTable;
  history: HistoryTable;
  registration_locks: RegistrationLocksTable;
  idempotency_keys: IdempotencyKeysTable;
  transition_intents: TransitionIntentsTable;
  policies: PoliciesTable;
  approval_votes: ApprovalVotesTable;
  webhooks: WebhooksTable;
  event_outbox: EventOutboxTable;
  webhook_deliveries: WebhookDeliveriesTable;
  audit_heads: AuditHeadsTable;
}
