import type {
  ModelVersionRecord,
  Page,
  RegisteredModelRecord,
  RunRecord,
  RunValues,
  Stage,
} from './registry-types';
import type { ModelSearchQuery } from './model-search';

/**
 * The model a call is about, as the caller has just read (or created) it from this registry for
 * the same tenant, in the same operation. An implementation may then skip looking the model up
 * again to check that it exists in that tenant; a model deleted in between still fails with
 * MODEL_NOT_FOUND (or, for a search, finds no versions). Only ever pass a record this registry
 * returned for this tenant and name.
 *
 * Every call on an existing model takes it as its last, optional argument, except the two that
 * answer the model itself (getRegisteredModel, getModelVersionWithModel): there the lookup is
 * the answer. Over HTTP it saves a `registered-models/get` per call (the round trips
 * `src/registry/mlflow-round-trips.int-spec.ts` counts); the embedded store's lookup is a local
 * read it needs anyway.
 */
export interface KnownModel {
  model: RegisteredModelRecord;
}

/**
 * The one port to the registry backend, shaped after MLflow's REST API 2.0 (registered models,
 * model versions, runs). Implementations: the embedded one on the service database and, with
 * MLFLOW_TRACKING_URI, an HTTP client of a real MLflow Tracking Server. Both pass the contract
 * suite in `mlflow-registry.contract.ts`.
 *
 * Every call names the tenant: an implementation keeps tenants apart however its storage
 * allows (a column in the embedded store; name mapping and tags in a shared MLflow server), and
 * a name of another tenant behaves exactly like a name that does not exist.
 *
 * Errors: RegistryError with MODEL_NOT_FOUND, VERSION_NOT_FOUND, ALIAS_NOT_FOUND, RUN_NOT_FOUND,
 * MODEL_ALREADY_EXISTS, VALIDATION_FAILED or BACKEND_UNAVAILABLE. Adapters translate; they do not
 * decide business rules (approvals, who may do what) — those live above the port.
 */
export abstract class MlflowRegistry {
  /** Fails with MODEL_ALREADY_EXISTS when the tenant has a model of that name. */
  abstract createRegisteredModel(
    tenant: string,
    input: { name: string; description?: string; tags?: Record<string, string> },
  ): Promise<RegisteredModelRecord>;

  abstract getRegisteredModel(tenant: string, name: string): Promise<RegisteredModelRecord>;

  /**
   * A version together with its model, as getRegisteredModel and getModelVersion would answer
   * them (MODEL_NOT_FOUND before VERSION_NOT_FOUND), for callers that need both: an
   * implementation may read the two at once.
   */
  abstract getModelVersionWithModel(
    tenant: string,
    name: string,
    version: number,
  ): Promise<{ model: RegisteredModelRecord; version: ModelVersionRecord }>;

  /**
   * Models of one tenant whose name is LIKE `nameLike` (MLflow's semantics, `model-search.ts`),
   * ordered by name or most recently updated first (ties by name). Pages are keyset pages: a
   * `pageToken` resumes right after the last model of the previous page, whatever was created
   * or deleted meanwhile, and belongs to its query (another `nameLike` or `orderBy`:
   * VALIDATION_FAILED naming it). A page may hold fewer than `maxResults` models and still have
   * a next one.
   */
  abstract searchRegisteredModels(
    tenant: string,
    query: ModelSearchQuery,
  ): Promise<Page<RegisteredModelRecord>>;

  abstract updateRegisteredModel(
    tenant: string,
    name: string,
    input: { description: string },
    known?: KnownModel,
  ): Promise<RegisteredModelRecord>;

  abstract setRegisteredModelTag(
    tenant: string,
    name: string,
    key: string,
    value: string,
    known?: KnownModel,
  ): Promise<void>;

  /** A tag the model does not have is already deleted (no error). */
  abstract deleteRegisteredModelTag(
    tenant: string,
    name: string,
    key: string,
    known?: KnownModel,
  ): Promise<void>;

  /** Deletes the model and all its versions. */
  abstract deleteRegisteredModel(tenant: string, name: string, known?: KnownModel): Promise<void>;

  /**
   * Creates the next version (1, 2, 3, ... per model; never reusing a number) in stage `none`.
   * Bumps the model's `lastUpdatedAt`. Answers the version as getModelVersion would.
   */
  abstract createModelVersion(
    tenant: string,
    name: string,
    input: { source: string; runId?: string; description?: string; tags?: Record<string, string> },
    known?: KnownModel,
  ): Promise<ModelVersionRecord>;

  abstract getModelVersion(
    tenant: string,
    name: string,
    version: number,
    known?: KnownModel,
  ): Promise<ModelVersionRecord>;

  /** Every version of one model, oldest first, optionally only those in one stage. */
  abstract searchModelVersions(
    tenant: string,
    name: string,
    filter?: { stage?: Stage },
    known?: KnownModel,
  ): Promise<ModelVersionRecord[]>;

  abstract updateModelVersion(
    tenant: string,
    name: string,
    version: number,
    input: { description: string },
    known?: KnownModel,
  ): Promise<ModelVersionRecord>;

  abstract setModelVersionTag(
    tenant: string,
    name: string,
    version: number,
    key: string,
    value: string,
    known?: KnownModel,
  ): Promise<void>;

  /** A tag the version does not have is already deleted (no error). */
  abstract deleteModelVersionTag(
    tenant: string,
    name: string,
    version: number,
    key: string,
    known?: KnownModel,
  ): Promise<void>;

  /**
   * Moves a version to `stage`. With `archiveExistingVersions` and a target of staging or
   * production, every other version in that stage moves to archived (MLflow's semantics).
   * Transitioning to the stage a version already has is allowed here (MLflow allows it).
   * Answers the moved version as getModelVersion would.
   */
  abstract transitionModelVersionStage(
    tenant: string,
    name: string,
    version: number,
    stage: Stage,
    archiveExistingVersions: boolean,
    known?: KnownModel,
  ): Promise<ModelVersionRecord>;

  /** Also removes the aliases that pointed at the version (MLflow's semantics). */
  abstract deleteModelVersion(
    tenant: string,
    name: string,
    version: number,
    known?: KnownModel,
  ): Promise<void>;

  // ---- aliases (MLflow's `registered-models/alias`) ----
  // An alias names one version of one model; a model has any number of them. Names are checked
  // above the port (the service's rule is narrower than MLflow's); the adapters take them as given.

  /**
   * Points `alias` at `version`: creates it, or moves it from the version it pointed at.
   * MODEL_NOT_FOUND, VERSION_NOT_FOUND.
   */
  abstract setRegisteredModelAlias(
    tenant: string,
    name: string,
    alias: string,
    version: number,
    known?: KnownModel,
  ): Promise<void>;

  /** An alias the model does not have is already deleted (no error). MODEL_NOT_FOUND. */
  abstract deleteRegisteredModelAlias(
    tenant: string,
    name: string,
    alias: string,
    known?: KnownModel,
  ): Promise<void>;

  /**
   * The version an alias points at, as getModelVersion would answer it. MODEL_NOT_FOUND,
   * ALIAS_NOT_FOUND.
   */
  abstract getModelVersionByAlias(
    tenant: string,
    name: string,
    alias: string,
    known?: KnownModel,
  ): Promise<ModelVersionRecord>;

  /**
   * A run holding a version's metrics and parameters (MLflow: runs/create + runs/log-batch).
   * `input` may still be on its way: a backend that makes the run before writing the values
   * (MLflow) makes it meanwhile. If `input` fails, no run is left and its error is thrown.
   */
  abstract createRun(tenant: string, input: RunValues | Promise<RunValues>): Promise<RunRecord>;

  abstract getRun(tenant: string, runId: string): Promise<RunRecord>;

  abstract deleteRun(tenant: string, runId: string): Promise<void>;

  /** Readiness: resolves when the backend answers. */
  abstract ping(): Promise<void>;
}
