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
}

export enum ApplyState {
  None = 'none',
  Pending = 'pending',
  Applied = 'applied',
  Abandoned = 'abandoned',
}

export enum HistoryEvent {
  Registered = 'registered',
  Transition = 'transition',
  ApprovalRequested = 'approval_requested',
  ApprovalApproved = 'approval_approved',
  ApprovalRejected = 'approval_rejected',
  ApprovalCancelled = 'approval_cancelled',
  Deleted = 'deleted',
}

export enum IntentKind {
  Transition = 'transition',
  DeleteVersion = 'delete_version',
  DeleteModel = 'delete_model',
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
}

export interface DatabaseSchema {
  reg_models: RegModelsTable;
  reg_model_tags: RegModelTagsTable;
  reg_versions: RegVersionsTable;
  reg_version_tags: RegVersionTagsTable;
  reg_runs: RegRunsTable;
  reg_run_metrics: RegRunMetricsTable;
  reg_run_params: RegRunParamsTable;
  artifacts: ArtifactsTable;
  approvals: ApprovalsTable;
  history: HistoryTable;
  registration_locks: RegistrationLocksTable;
  idempotency_keys: IdempotencyKeysTable;
  transition_intents: TransitionIntentsTable;
  audit_heads: AuditHeadsTable;
}
