import { Logger } from '@nestjs/common';
import { ErrorCode } from '../../common/errors/error-code';
import { RegistryError } from '../../common/errors/registry-error';
import { KnownModel, MlflowRegistry } from '../mlflow-registry';
import {
  LatestVersion,
  ModelVersionRecord,
  Page,
  ParamValue,
  RegisteredModelRecord,
  RunRecord,
  RunValues,
  Stage,
} from '../registry-types';
import { MlflowApiError, MlflowHttpClient } from './mlflow-http-client';

// ---- MLflow's JSON shapes (only the fields we read) -------------------------------------------

interface MlflowTag {
  key: string;
  value?: string;
}

interface MlflowModelVersion {
  name: string;
  version: string;
  creation_timestamp?: number | string;
  last_updated_timestamp?: number | string;
  current_stage?: string;
  description?: string;
  source?: string;
  run_id?: string;
  tags?: MlflowTag[];
}

interface MlflowRegisteredModel {
  name: string;
  creation_timestamp?: number | string;
  last_updated_timestamp?: number | string;
  description?: string;
  latest_versions?: MlflowModelVersion[];
  tags?: MlflowTag[];
}

interface MlflowRun {
  info: { run_id: string; experiment_id: string; lifecycle_stage?: string };
  data?: {
    metrics?: { key: string; value: number | string }[];
    params?: { key: string; value: string }[];
    tags?: MlflowTag[];
  };
}

// ---- Tenants inside one MLflow server ---------------------------------------------------------

/** Separates namespace, tenant and model in MLflow names; no tenant id or model name has it. */
const SEPARATOR = '~';
/** Tags this adapter writes on MLflow objects and hides from the service. */
const TENANT_TAG = 'registry.tenant';
const NAMESPACE_TAG = 'registry.namespace';
const PARAM_TYPES_TAG = 'registry.param_types.';
const ADAPTER_TAGS = new Set([TENANT_TAG, NAMESPACE_TAG]);
/** Ids and names the adapter puts inside filter strings: never a quote or a backslash. */
const SAFE = /^[A-Za-z0-9._ -]+$/;
/** MLflow's log-batch limits per request. */
const BATCH_METRICS = 1000;
const BATCH_PARAMS = 100;
const BATCH_TAGS = 100;
const TAG_CHUNK_CHARS = 4000;

const STAGE_TO_MLFLOW: Record<Stage, string> = {
  [Stage.None]: 'None',
  [Stage.Staging]: 'Staging',
  [Stage.Production]: 'Production',
  [Stage.Archived]: 'Archived',
};

function stageFromMlflow(stage: string | undefined): Stage {
  switch ((stage ?? 'None').toLowerCase()) {
    case 'staging':
      return Stage.Staging;
    case 'production':
      return Stage.Production;
    case 'archived':
      return Stage.Archived;
    default:
      return Stage.None;
  }
}

function millis(value: number | string | undefined): number {
  const n = Number(value ?? 0);
  return Number.isFinite(n) ? n : 0;
}

function tagsOf(
  tags: MlflowTag[] | undefined,
  hide: (key: string) => boolean,
): Record<string, string> {
  const out: Record<string, string> = {};
  for (const tag of tags ?? []) if (!hide(tag.key)) out[tag.key] = tag.value ?? '';
  return out;
}

function tagList(tags: Record<string, string>): MlflowTag[] {
  return Object.entries(tags).map(([key, value]) => ({ key, value }));
}

function isCode(err: unknown, code: string): err is MlflowApiError {
  return err instanceof MlflowApiError && err.errorCode === code;
}

/**
 * The MLflow port against a real MLflow Tracking Server (REST API 2.0).
 *
 * Tenants share the server and never see each other: a tenant's model `churn` is the MLflow
 * model `<tenant>~churn` (`<namespace>~<tenant>~churn` with ML_REGISTRY_NAMESPACE), tagged
 * `registry.tenant` (and `registry.namespace`); a model whose tags do not match is "not found",
 * and listings filter on the tag. Runs live in one experiment per tenant,
 * `model-registry/[<namespace>/]<tenant>`, and a run of another experiment is "not found".
 * Parameters are strings in MLflow; their JSON types (number, boolean) ride along in run tags
 * `registry.param_types.<n>` so they read back as they were written, while MLflow's UI shows
 * the plain values.
 */
export class MlflowHttpRegistry extends MlflowRegistry {
  private readonly logger = new Logger(MlflowHttpRegistry.name);
  private readonly experimentIds = new Map<string, Promise<string>>();

  constructor(
    private readonly client: MlflowHttpClient,
    private readonly namespace?: string,
  ) {
    super();
  }

  // ---- names ----

  /** `[<namespace>~]<tenant>~`: every MLflow name of one tenant starts with it. */
  private tenantPrefix(tenant: string): string {
    if (!SAFE.test(tenant)) throw RegistryError.validation('tenant ids may not contain quotes');
    const prefix = this.namespace !== undefined ? `${this.namespace}${SEPARATOR}` : '';
    return `${prefix}${tenant}${SEPARATOR}`;
  }

  private mlflowName(tenant: string, name: string): string {
    if (!SAFE.test(name)) throw RegistryError.validation('model names may not contain quotes');
    return `${this.tenantPrefix(tenant)}${name}`;
  }

  private plainName(mlflowName: string): string {
    return mlflowName.slice(mlflowName.lastIndexOf(SEPARATOR) + 1);
  }

  private ownedBy(tags: MlflowTag[] | undefined, tenant: string): boolean {
    const map = tagsOf(tags, () => false);
    return map[TENANT_TAG] === tenant && map[NAMESPACE_TAG] === this.namespace;
  }

  private ownerTags(tenant: string): Record<string, string> {
    return this.namespace !== undefined
      ? { [TENANT_TAG]: tenant, [NAMESPACE_TAG]: this.namespace }
      : { [TENANT_TAG]: tenant };
  }

  // ---- mapping ----

  private toModel(model: MlflowRegisteredModel): RegisteredModelRecord {
    const newest = new Map<Stage, number>();
    for (const v of model.latest_versions ?? []) {
      const stage = stageFromMlflow(v.current_stage);
      const version = Number(v.version);
      if ((newest.get(stage) ?? 0) < version) newest.set(stage, version);
    }
    const latestVersions: LatestVersion[] = [...newest.entries()].map(([stage, version]) => ({
      stage,
      version,
    }));
    return {
      name: this.plainName(model.name),
      description: model.description ?? '',
      tags: tagsOf(model.tags, (key) => ADAPTER_TAGS.has(key)),
      createdAt: millis(model.creation_timestamp),
      lastUpdatedAt: millis(model.last_updated_timestamp),
      latestVersions,
    };
  }

  private toVersion(version: MlflowModelVersion): ModelVersionRecord {
    return {
      name: this.plainName(version.name),
      version: Number(version.version),
      stage: stageFromMlflow(version.current_stage),
      description: version.description ?? '',
      source: version.source ?? '',
      runId: version.run_id !== undefined && version.run_id !== '' ? version.run_id : null,
      tags: tagsOf(version.tags, () => false),
      createdAt: millis(version.creation_timestamp),
      lastUpdatedAt: millis(version.last_updated_timestamp),
    };
  }

  private modelNotFound(name: string): RegistryError {
    return new RegistryError(ErrorCode.ModelNotFound, `model '${name}' does not exist`);
  }

  private versionNotFound(name: string, version: number): RegistryError {
    return new RegistryError(
      ErrorCode.VersionNotFound,
      `model '${name}' has no version ${version}`,
    );
  }

  /** MLflow refused a value: say so without its internal names. */
  private refused(err: MlflowApiError, what: string): RegistryError {
    this.logger.warn({ mlflow: err.message }, `MLflow refused ${what}`);
    return RegistryError.validation(`the registry backend refused ${what}`);
  }

  /** The raw MLflow model, or MODEL_NOT_FOUND when it does not exist in this tenant. */
  private async fetchModel(tenant: string, name: string): Promise<MlflowRegisteredModel> {
    try {
      const { registered_model } = await this.client.get<{
        registered_model: MlflowRegisteredModel;
      }>('registered-models/get', { name: this.mlflowName(tenant, name) });
      if (!this.ownedBy(registered_model.tags, tenant)) throw this.modelNotFound(name);
      return registered_model;
    } catch (err) {
      if (isCode(err, 'RESOURCE_DOES_NOT_EXIST')) throw this.modelNotFound(name);
      throw err;
    }
  }

  /**
   * The ownership check before a call on a model: skipped for a model the caller has just read
   * from this registry (MLflow still answers "does not exist" should it be gone since).
   */
  private async checkModel(tenant: string, name: string, known?: KnownModel): Promise<void> {
    if (known !== undefined && known.model.name === name) {
      this.mlflowName(tenant, name); // the same validation as a lookup
      return;
    }
    await this.fetchModel(tenant, name);
  }

  /**
   * Runs a call on one version; MLflow's "does not exist" is told apart into a missing model
   * and a missing version with one more lookup (only on that error path).
   */
  private async onVersion<T>(
    tenant: string,
    name: string,
    version: number,
    call: (mlflowName: string) => Promise<T>,
  ): Promise<T> {
    try {
      return await call(this.mlflowName(tenant, name));
    } catch (err) {
      if (!isCode(err, 'RESOURCE_DOES_NOT_EXIST')) throw err;
      await this.fetchModel(tenant, name);
      throw this.versionNotFound(name, version);
    }
  }

  /** Runs a call on one model; MLflow's "does not exist" becomes MODEL_NOT_FOUND. */
  private async onModel<T>(
    tenant: string,
    name: string,
    call: (mlflowName: string) => Promise<T>,
  ): Promise<T> {
    try {
      return await call(this.mlflowName(tenant, name));
    } catch (err) {
      if (isCode(err, 'RESOURCE_DOES_NOT_EXIST')) throw this.modelNotFound(name);
      throw err;
    }
  }

  // ---- registered models ----

  async createRegisteredModel(
    tenant: string,
    input: { name: string; description?: string; tags?: Record<string, string> },
  ): Promise<RegisteredModelRecord> {
    try {
      const { registered_model } = await this.client.post<{
        registered_model: MlflowRegisteredModel;
      }>(
        'registered-models/create',
        {
          name: this.mlflowName(tenant, input.name),
          description: input.description ?? '',
          tags: tagList({ ...input.tags, ...this.ownerTags(tenant) }),
        },
        'once',
      );
      return this.toModel(registered_model);
    } catch (err) {
      if (isCode(err, 'RESOURCE_ALREADY_EXISTS')) {
        throw new RegistryError(
          ErrorCode.ModelAlreadyExists,
          `model '${input.name}' already exists`,
        );
      }
      if (err instanceof MlflowApiError) throw this.refused(err, `the model '${input.name}'`);
      throw err;
    }
  }

  async getRegisteredModel(tenant: string, name: string): Promise<RegisteredModelRecord> {
    return this.toModel(await this.fetchModel(tenant, name));
  }

  async searchRegisteredModels(
    tenant: string,
    query: { maxResults: number; pageToken?: string },
  ): Promise<Page<RegisteredModelRecord>> {
    // MLflow answers a page token it cannot decode with an HTML 500: refuse it here instead.
    if (query.pageToken !== undefined && !isMlflowPageToken(query.pageToken)) {
      throw RegistryError.validation('page_token is not a token this service issued');
    }
    const prefix = this.tenantPrefix(tenant);
    const filter = [
      `name LIKE '${prefix}%'`,
      `tags.\`${TENANT_TAG}\` = '${tenant}'`,
      ...(this.namespace !== undefined ? [`tags.\`${NAMESPACE_TAG}\` = '${this.namespace}'`] : []),
    ].join(' AND ');
    try {
      const page = await this.client.get<{
        registered_models?: MlflowRegisteredModel[];
        next_page_token?: string;
      }>('registered-models/search', {
        filter,
        max_results: query.maxResults,
        order_by: 'name ASC',
        page_token: query.pageToken,
      });
      return {
        // The tag filter is exact; the ownership check is a second line of defence.
        items: (page.registered_models ?? [])
          .filter((m) => this.ownedBy(m.tags, tenant))
          .map((m) => this.toModel(m)),
        nextPageToken:
          page.next_page_token !== undefined && page.next_page_token !== ''
            ? page.next_page_token
            : undefined,
      };
    } catch (err) {
      if (isCode(err, 'INVALID_PARAMETER_VALUE') && query.pageToken !== undefined) {
        throw RegistryError.validation('page_token is not a token this service issued');
      }
      if (err instanceof MlflowApiError) throw this.refused(err, 'the model search');
      throw err;
    }
  }

  async updateRegisteredModel(
    tenant: string,
    name: string,
    input: { description: string },
  ): Promise<RegisteredModelRecord> {
    await this.fetchModel(tenant, name);
    await this.onModel(tenant, name, (mlflowName) =>
      this.client.patch('registered-models/update', {
        name: mlflowName,
        description: input.description,
      }),
    );
    // MLflow's answer to an update carries neither tags nor latest versions: read it back.
    return this.getRegisteredModel(tenant, name);
  }

  async setRegisteredModelTag(
    tenant: string,
    name: string,
    key: string,
    value: string,
  ): Promise<void> {
    await this.fetchModel(tenant, name);
    await this.onModel(tenant, name, (mlflowName) =>
      this.client.post('registered-models/set-tag', { name: mlflowName, key, value }, 'idempotent'),
    );
  }

  async deleteRegisteredModelTag(tenant: string, name: string, key: string): Promise<void> {
    await this.fetchModel(tenant, name);
    try {
      await this.client.delete('registered-models/delete-tag', {
        name: this.mlflowName(tenant, name),
        key,
      });
    } catch (err) {
      // A tag that is not there is already deleted.
      if (isCode(err, 'RESOURCE_DOES_NOT_EXIST')) return;
      throw err;
    }
  }

  async deleteRegisteredModel(tenant: string, name: string): Promise<void> {
    await this.fetchModel(tenant, name);
    await this.onModel(tenant, name, (mlflowName) =>
      this.client.delete('registered-models/delete', { name: mlflowName }),
    );
  }

  // ---- model versions ----

  async createModelVersion(
    tenant: string,
    name: string,
    input: { source: string; runId?: string; description?: string; tags?: Record<string, string> },
    known?: KnownModel,
  ): Promise<ModelVersionRecord> {
    await this.checkModel(tenant, name, known);
    try {
      return await this.onModel(tenant, name, async (mlflowName) => {
        const { model_version } = await this.client.post<{ model_version: MlflowModelVersion }>(
          'model-versions/create',
          {
            name: mlflowName,
            source: input.source,
            run_id: input.runId,
            description: input.description ?? '',
            tags: tagList(input.tags ?? {}),
          },
          'once',
        );
        return this.toVersion(model_version);
      });
    } catch (err) {
      if (err instanceof MlflowApiError) throw this.refused(err, `the new version of '${name}'`);
      throw err;
    }
  }

  async getModelVersion(
    tenant: string,
    name: string,
    version: number,
  ): Promise<ModelVersionRecord> {
    return (await this.getModelVersionWithModel(tenant, name, version)).version;
  }

  /**
   * The model (the ownership check) and the version are read at once; nothing of the version
   * is used unless the model is the tenant's, and a missing model is reported before a missing
   * version, as when they are read one after the other.
   */
  async getModelVersionWithModel(
    tenant: string,
    name: string,
    version: number,
  ): Promise<{ model: RegisteredModelRecord; version: ModelVersionRecord }> {
    const mlflowName = this.mlflowName(tenant, name);
    const [model, found] = await Promise.allSettled([
      this.fetchModel(tenant, name),
      this.client.get<{ model_version: MlflowModelVersion }>('model-versions/get', {
        name: mlflowName,
        version: String(version),
      }),
    ]);
    if (model.status === 'rejected') throw model.reason;
    if (found.status === 'rejected') {
      if (isCode(found.reason, 'RESOURCE_DOES_NOT_EXIST')) {
        throw this.versionNotFound(name, version);
      }
      throw found.reason;
    }
    return { model: this.toModel(model.value), version: this.toVersion(found.value.model_version) };
  }

  /**
   * The ownership check and the versions' pages are read at once (or the check is skipped for
   * a known model); nothing is returned unless the model is the tenant's.
   */
  async searchModelVersions(
    tenant: string,
    name: string,
    filter?: { stage?: Stage },
    known?: KnownModel,
  ): Promise<ModelVersionRecord[]> {
    const mlflowName = this.mlflowName(tenant, name);
    const [checked, read] = await Promise.allSettled([
      this.checkModel(tenant, name, known),
      this.readVersions(mlflowName),
    ]);
    if (checked.status === 'rejected') throw checked.reason;
    if (read.status === 'rejected') throw read.reason;
    const versions = read.value;
    return filter?.stage !== undefined
      ? versions.filter((v) => v.stage === filter.stage)
      : versions;
  }

  /** Every version of an MLflow model, oldest first (none for a model that does not exist). */
  private async readVersions(mlflowName: string): Promise<ModelVersionRecord[]> {
    const versions: ModelVersionRecord[] = [];
    let pageToken: string | undefined;
    // MLflow cannot filter versions on their stage: read them all, in pages.
    do {
      const page = await this.client.get<{
        model_versions?: MlflowModelVersion[];
        next_page_token?: string;
      }>('model-versions/search', {
        filter: `name = '${mlflowName}'`,
        max_results: 1000,
        order_by: 'version_number ASC',
        page_token: pageToken,
      });
      versions.push(...(page.model_versions ?? []).map((v) => this.toVersion(v)));
      pageToken = page.next_page_token !== '' ? page.next_page_token : undefined;
    } while (pageToken !== undefined);
    versions.sort((a, b) => a.version - b.version);
    return versions;
  }

  async updateModelVersion(
    tenant: string,
    name: string,
    version: number,
    input: { description: string },
  ): Promise<ModelVersionRecord> {
    await this.fetchModel(tenant, name);
    return this.onVersion(tenant, name, version, async (mlflowName) => {
      const { model_version } = await this.client.patch<{ model_version: MlflowModelVersion }>(
        'model-versions/update',
        { name: mlflowName, version: String(version), description: input.description },
      );
      return this.toVersion(model_version);
    });
  }

  async setModelVersionTag(
    tenant: string,
    name: string,
    version: number,
    key: string,
    value: string,
  ): Promise<void> {
    await this.fetchModel(tenant, name);
    await this.onVersion(tenant, name, version, (mlflowName) =>
      this.client.post(
        'model-versions/set-tag',
        { name: mlflowName, version: String(version), key, value },
        'idempotent',
      ),
    );
  }

  async deleteModelVersionTag(
    tenant: string,
    name: string,
    version: number,
    key: string,
  ): Promise<void> {
    // The version must exist; a tag that is not there is already deleted.
    await this.getModelVersion(tenant, name, version);
    try {
      await this.client.delete('model-versions/delete-tag', {
        name: this.mlflowName(tenant, name),
        version: String(version),
        key,
      });
    } catch (err) {
      if (isCode(err, 'RESOURCE_DOES_NOT_EXIST')) return;
      throw err;
    }
  }

  async transitionModelVersionStage(
    tenant: string,
    name: string,
    version: number,
    stage: Stage,
    archiveExistingVersions: boolean,
    known?: KnownModel,
  ): Promise<ModelVersionRecord> {
    await this.checkModel(tenant, name, known);
    // MLflow answers 500 to archive_existing_versions with a target other than
    // Staging/Production; for those targets it means nothing anyway.
    const archive =
      archiveExistingVersions && (stage === Stage.Staging || stage === Stage.Production);
    return this.onVersion(tenant, name, version, async (mlflowName) => {
      const { model_version } = await this.client.post<{ model_version: MlflowModelVersion }>(
        'model-versions/transition-stage',
        {
          name: mlflowName,
          version: String(version),
          stage: STAGE_TO_MLFLOW[stage],
          archive_existing_versions: archive,
        },
        // Repeating a transition to the same stage leaves the same state.
        'idempotent',
      );
      return this.toVersion(model_version);
    });
  }

  async deleteModelVersion(tenant: string, name: string, version: number): Promise<void> {
    await this.fetchModel(tenant, name);
    await this.onVersion(tenant, name, version, (mlflowName) =>
      this.client.delete('model-versions/delete', { name: mlflowName, version: String(version) }),
    );
  }

  // ---- runs ----

  private experimentName(tenant: string): string {
    return this.namespace !== undefined
      ? `model-registry/${this.namespace}/${tenant}`
      : `model-registry/${tenant}`;
  }

  /** The id of the tenant's experiment, created on first use; cached, and forgotten on error. */
  private experimentId(tenant: string): Promise<string> {
    let id = this.experimentIds.get(tenant);
    if (id === undefined) {
      id = this.findOrCreateExperiment(tenant);
      id.catch(() => this.experimentIds.delete(tenant));
      this.experimentIds.set(tenant, id);
    }
    return id;
  }

  private async findOrCreateExperiment(tenant: string): Promise<string> {
    const name = this.experimentName(tenant);
    const find = async (): Promise<string | undefined> => {
      try {
        const { experiment } = await this.client.get<{
          experiment: { experiment_id: string; lifecycle_stage?: string };
        }>('experiments/get-by-name', { experiment_name: name });
        if (experiment.lifecycle_stage === 'deleted') {
          // Someone deleted it in MLflow: bring it back rather than fail every registration.
          await this.client.post(
            'experiments/restore',
            { experiment_id: experiment.experiment_id },
            'idempotent',
          );
        }
        return experiment.experiment_id;
      } catch (err) {
        if (isCode(err, 'RESOURCE_DOES_NOT_EXIST')) return undefined;
        throw err;
      }
    };
    const found = await find();
    if (found !== undefined) return found;
    try {
      const { experiment_id } = await this.client.post<{ experiment_id: string }>(
        'experiments/create',
        { name, tags: tagList(this.ownerTags(tenant)) },
        'once',
      );
      return experiment_id;
    } catch (err) {
      // Another replica created it first.
      if (isCode(err, 'RESOURCE_ALREADY_EXISTS')) {
        const again = await find();
        if (again !== undefined) return again;
      }
      throw err;
    }
  }

  async createRun(tenant: string, values: RunValues | Promise<RunValues>): Promise<RunRecord> {
    // The run is created while the values may still be read; a failure of theirs is handled
    // below, once the run exists (it is then deleted), not reported as unhandled meanwhile.
    const pending = Promise.resolve(values);
    pending.catch(() => undefined);
    const experimentId = await this.experimentId(tenant);
    const now = Date.now();
    let run: MlflowRun;
    try {
      ({ run } = await this.client.post<{ run: MlflowRun }>(
        'runs/create',
        { experiment_id: experimentId, start_time: now, tags: tagList(this.ownerTags(tenant)) },
        'once',
      ));
    } catch (err) {
      if (!(err instanceof MlflowApiError)) throw err;
      // The experiment was deleted or purged in MLflow since we looked it up: look it up (or
      // make it) again next time, and let this registration be retried.
      this.experimentIds.delete(tenant);
      this.logger.warn({ mlflow: err.message, experimentId }, 'MLflow refused to create a run');
      throw RegistryError.unavailable('the registry backend');
    }
    const runId = run.info.run_id;
    let input: RunValues;
    try {
      input = await pending;
      const typed = Object.entries(input.params)
        .filter(([, v]) => typeof v !== 'string')
        .map(([k, v]) => [k, typeof v === 'number' ? 'n' : 'b']);
      const typeTags: MlflowTag[] = [];
      let chunk: string[][] = [];
      const flush = (): void => {
        if (chunk.length > 0) {
          typeTags.push({
            key: `${PARAM_TYPES_TAG}${typeTags.length}`,
            value: JSON.stringify(chunk),
          });
        }
        chunk = [];
      };
      for (const entry of typed) {
        if (JSON.stringify([...chunk, entry]).length > TAG_CHUNK_CHARS) flush();
        chunk.push(entry);
      }
      flush();
      const metrics = Object.entries(input.metrics).map(([key, value]) => ({
        key,
        value,
        timestamp: now,
        step: 0,
      }));
      const params = Object.entries(input.params).map(([key, value]) => ({
        key,
        value: String(value),
      }));
      const batches = Math.max(
        Math.ceil(metrics.length / BATCH_METRICS),
        Math.ceil(params.length / BATCH_PARAMS),
        Math.ceil(typeTags.length / BATCH_TAGS),
      );
      for (let i = 0; i < batches; i++) {
        // log-batch is not idempotent for metrics (a repeat adds history points): no retries.
        await this.client.post(
          'runs/log-batch',
          {
            run_id: runId,
            metrics: metrics.slice(i * BATCH_METRICS, (i + 1) * BATCH_METRICS),
            params: params.slice(i * BATCH_PARAMS, (i + 1) * BATCH_PARAMS),
            tags: typeTags.slice(i * BATCH_TAGS, (i + 1) * BATCH_TAGS),
          },
          'once',
        );
      }
      await this.client.post(
        'runs/update',
        { run_id: runId, status: 'FINISHED', end_time: Date.now() },
        'idempotent',
      );
    } catch (err) {
      await this.deleteRun(tenant, runId).catch((cleanup: unknown) =>
        this.logger.warn({ err: cleanup, runId }, 'could not delete a half-written run'),
      );
      if (err instanceof MlflowApiError) throw this.refused(err, 'the metrics or parameters');
      throw err;
    }
    return { runId, metrics: { ...input.metrics }, params: { ...input.params } };
  }

  private async fetchRun(tenant: string, runId: string): Promise<MlflowRun> {
    const notFound = new RegistryError(ErrorCode.RunNotFound, `run '${runId}' does not exist`);
    if (!/^[A-Za-z0-9]{1,64}$/.test(runId)) throw notFound;
    let run: MlflowRun;
    try {
      ({ run } = await this.client.get<{ run: MlflowRun }>('runs/get', { run_id: runId }));
    } catch (err) {
      if (isCode(err, 'RESOURCE_DOES_NOT_EXIST') || isCode(err, 'INVALID_PARAMETER_VALUE')) {
        throw notFound;
      }
      throw err;
    }
    if (run.info.lifecycle_stage === 'deleted') throw notFound;
    if (run.info.experiment_id !== (await this.experimentId(tenant))) throw notFound;
    return run;
  }

  async getRun(tenant: string, runId: string): Promise<RunRecord> {
    const run = await this.fetchRun(tenant, runId);
    const types = new Map<string, string>();
    for (const tag of run.data?.tags ?? []) {
      if (!tag.key.startsWith(PARAM_TYPES_TAG)) continue;
      try {
        for (const [k, t] of JSON.parse(tag.value ?? '[]') as [string, string][]) types.set(k, t);
      } catch {
        this.logger.warn({ runId, tag: tag.key }, 'unreadable parameter types tag; using strings');
      }
    }
    const params: Record<string, ParamValue> = {};
    for (const { key, value } of run.data?.params ?? []) {
      const type = types.get(key);
      params[key] = type === 'n' ? Number(value) : type === 'b' ? value === 'true' : value;
    }
    const metrics: Record<string, number> = {};
    for (const { key, value } of run.data?.metrics ?? []) metrics[key] = Number(value);
    return { runId: run.info.run_id, metrics, params };
  }

  async deleteRun(tenant: string, runId: string): Promise<void> {
    await this.fetchRun(tenant, runId);
    await this.client.post('runs/delete', { run_id: runId }, 'idempotent');
  }

  async ping(): Promise<void> {
    // A real API call (it reaches MLflow's backend store), not just /health.
    await this.client.get('registered-models/search', { max_results: 1 });
  }
}

/** MLflow's page tokens are base64 of `{"offset": N}`; anything else never came from it. */
export function isMlflowPageToken(token: string): boolean {
  if (!/^[A-Za-z0-9+/]{1,1000}={0,2}$/.test(token)) return false;
  try {
    const parsed = JSON.parse(Buffer.from(token, 'base64').toString('utf8')) as {
      offset?: unknown;
    } | null;
    return (
      typeof parsed?.offset === 'number' &&
      Number.isSafeInteger(parsed.offset) &&
      parsed.offset >= 0
    );
  } catch {
    return false;
  }
}
