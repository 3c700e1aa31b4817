import { Logger } from '@nestjs/common';
import { ErrorCode } from '../../common/errors/error-code';
import { RegistryError } from '../../common/errors/registry-error';
import { KnownModel, MlflowRegistry } from '../mlflow-registry';
import { versionNotFound } from '../registry-errors';
import {
  ModelVersionRecord,
  Page,
  RegisteredModelRecord,
  RunRecord,
  RunValues,
  Stage,
} from '../registry-types';
import { isCode, refused } from './mlflow-errors';
import { MlflowApiError, MlflowHttpClient } from './mlflow-http-client';
import { MlflowAliases } from './mlflow-aliases';
import { toMlflowSource } from './mlflow-source';
import {
  aliasesOf,
  MlflowModelVersion,
  MlflowRegisteredModel,
  STAGE_TO_MLFLOW,
  tagList,
  toModel,
  toVersion,
} from './mlflow-mapper';
import { MlflowModelAccess } from './mlflow-model-access';
import { MlflowModelSearch } from './mlflow-model-search';
import { MlflowRunStore } from './mlflow-run-store';
import { MlflowTenancy } from './mlflow-tenancy';
import type { ModelSearchQuery } from '../model-search';

import { archiveApplies } from '../../domain/stage';

/**
 * The MLflow port against a real MLflow Tracking Server (REST API 2.0): the port's calls on
 * registered models and versions as MLflow calls, and MLflow's errors as the port's.
 *
 * Tenants share the server without seeing each other (`mlflow-tenancy.ts`: names, tags,
 * experiments; `mlflow-model-access.ts`: the ownership check on every call on a model), MLflow's
 * JSON becomes the port's records in `mlflow-mapper.ts`, and runs, with their parameters' types
 * (`run-params-codec.ts`), are `mlflow-run-store.ts`'s; aliases are `mlflow-aliases.ts`'s, and the
 * paging of model searches over MLflow's offsets is `mlflow-model-search.ts`'s.
 */
export class MlflowHttpRegistry extends MlflowRegistry {
  private readonly logger = new Logger(MlflowHttpRegistry.name);
  private readonly tenancy: MlflowTenancy;
  private readonly models: MlflowModelAccess;
  private readonly runs: MlflowRunStore;
  private readonly aliases: MlflowAliases;
  private readonly search: MlflowModelSearch;

  constructor(
    private readonly client: MlflowHttpClient,
    namespace?: string,
  ) {
    super();
    this.tenancy = new MlflowTenancy(namespace);
    this.models = new MlflowModelAccess(client, this.tenancy);
    this.runs = new MlflowRunStore(client, this.tenancy, this.logger);
    this.aliases = new MlflowAliases(client, this.models);
    this.search = new MlflowModelSearch(client, this.tenancy, this.logger);
  }

  private mlflowName(tenant: string, name: string): string {
    return this.tenancy.mlflowName(tenant, name);
  }

  /** MLflow refused a value: say so without its internal names. */
  private refused(err: MlflowApiError, what: string): RegistryError {
    return refused(this.logger, err, what);
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
          tags: tagList({ ...input.tags, ...this.tenancy.ownerTags(tenant) }),
        },
        'once',
      );
      return toModel(registered_model);
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
    return toModel(await this.models.fetch(tenant, name));
  }

  /** Pages of the tenant's models (see MlflowModelSearch for how they stay keyset pages). */
  searchRegisteredModels(
    tenant: string,
    query: ModelSearchQuery,
  ): Promise<Page<RegisteredModelRecord>> {
    return this.search.search(tenant, query);
  }

  async updateRegisteredModel(
    tenant: string,
    name: string,
    input: { description: string },
    known?: KnownModel,
  ): Promise<RegisteredModelRecord> {
    await this.models.check(tenant, name, known);
    await this.models.onModel(tenant, name, (mlflowName) =>
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
    known?: KnownModel,
  ): Promise<void> {
    await this.models.check(tenant, name, known);
    await this.models.onModel(tenant, name, (mlflowName) =>
      this.client.post('registered-models/set-tag', { name: mlflowName, key, value }, 'idempotent'),
    );
  }

  async deleteRegisteredModelTag(
    tenant: string,
    name: string,
    key: string,
    known?: KnownModel,
  ): Promise<void> {
    await this.models.check(tenant, name, known);
    try {
      await this.client.delete('registered-models/delete-tag', {
        name: this.mlflowName(tenant, name),
        key,
      });
    } catch (err) {
      if (!isCode(err, 'RESOURCE_DOES_NOT_EXIST')) throw err;
      // A tag that is not there is already deleted; a model that is not there (only possible
      // when its lookup was skipped) is not found.
      if (this.models.trusts(name, known)) await this.models.fetch(tenant, name);
    }
  }

  async deleteRegisteredModel(tenant: string, name: string, known?: KnownModel): Promise<void> {
    await this.models.check(tenant, name, known);
    await this.models.onModel(tenant, name, (mlflowName) =>
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
    await this.models.check(tenant, name, known);
    const placed = toMlflowSource(input.source);
    try {
      return await this.models.onModel(tenant, name, async (mlflowName) => {
        const { model_version } = await this.client.post<{ model_version: MlflowModelVersion }>(
          'model-versions/create',
          {
            name: mlflowName,
            source: placed.source,
            run_id: input.runId,
            description: input.description ?? '',
            tags: tagList({ ...input.tags, ...placed.tags }),
          },
          'once',
        );
        return toVersion(model_version);
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
    known?: KnownModel,
  ): Promise<ModelVersionRecord> {
    if (!this.models.trusts(name, known)) {
      return (await this.getModelVersionWithModel(tenant, name, version)).version;
    }
    return this.models.onVersion(tenant, name, version, async (mlflowName) => {
      const { model_version } = await this.client.get<{ model_version: MlflowModelVersion }>(
        'model-versions/get',
        { name: mlflowName, version: String(version) },
      );
      return toVersion(model_version);
    });
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
      this.models.fetch(tenant, name),
      this.client.get<{ model_version: MlflowModelVersion }>('model-versions/get', {
        name: mlflowName,
        version: String(version),
      }),
    ]);
    if (model.status === 'rejected') throw model.reason;
    if (found.status === 'rejected') {
      if (isCode(found.reason, 'RESOURCE_DOES_NOT_EXIST')) {
        throw versionNotFound(name, version);
      }
      throw found.reason;
    }
    return { model: toModel(model.value), version: toVersion(found.value.model_version) };
  }

  /**
   * The ownership check and the versions' pages are read at once (or the check is skipped for
   * a known model); nothing is returned unless the model is the tenant's. MLflow's version
   * search leaves the aliases out: they come from the model (as read, or as known).
   */
  async searchModelVersions(
    tenant: string,
    name: string,
    filter?: { stage?: Stage },
    known?: KnownModel,
  ): Promise<ModelVersionRecord[]> {
    const mlflowName = this.mlflowName(tenant, name);
    const aliases = async (): Promise<Record<string, number>> => {
      if (!this.models.trusts(name, known)) return aliasesOf(await this.models.fetch(tenant, name));
      await this.models.check(tenant, name, known);
      return known.model.aliases;
    };
    const [checked, read] = await Promise.allSettled([aliases(), this.readVersions(mlflowName)]);
    if (checked.status === 'rejected') throw checked.reason;
    if (read.status === 'rejected') throw read.reason;
    const versions = read.value.map((v) => toVersion(v, checked.value));
    return filter?.stage !== undefined
      ? versions.filter((v) => v.stage === filter.stage)
      : versions;
  }

  /** Every version of an MLflow model, oldest first (none for a model that does not exist). */
  private async readVersions(mlflowName: string): Promise<MlflowModelVersion[]> {
    const versions: MlflowModelVersion[] = [];
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
      versions.push(...(page.model_versions ?? []));
      pageToken = page.next_page_token !== '' ? page.next_page_token : undefined;
    } while (pageToken !== undefined);
    versions.sort((a, b) => Number(a.version) - Number(b.version));
    return versions;
  }

  async updateModelVersion(
    tenant: string,
    name: string,
    version: number,
    input: { description: string },
    known?: KnownModel,
  ): Promise<ModelVersionRecord> {
    await this.models.check(tenant, name, known);
    return this.models.onVersion(tenant, name, version, async (mlflowName) => {
      const { model_version } = await this.client.patch<{ model_version: MlflowModelVersion }>(
        'model-versions/update',
        { name: mlflowName, version: String(version), description: input.description },
      );
      return toVersion(model_version);
    });
  }

  async setModelVersionTag(
    tenant: string,
    name: string,
    version: number,
    key: string,
    value: string,
    known?: KnownModel,
  ): Promise<void> {
    await this.models.check(tenant, name, known);
    await this.models.onVersion(tenant, name, version, (mlflowName) =>
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
    known?: KnownModel,
  ): Promise<void> {
    // The version must exist; a tag that is not there is already deleted.
    await this.getModelVersion(tenant, name, version, known);
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
    await this.models.check(tenant, name, known);
    // MLflow answers 500 to archive_existing_versions with a target other than
    // Staging/Production; for those targets it means nothing anyway.
    const archive = archiveExistingVersions && archiveApplies(stage);
    return this.models.onVersion(tenant, name, version, async (mlflowName) => {
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
      return toVersion(model_version);
    });
  }

  async deleteModelVersion(
    tenant: string,
    name: string,
    version: number,
    known?: KnownModel,
  ): Promise<void> {
    await this.models.check(tenant, name, known);
    await this.models.onVersion(tenant, name, version, (mlflowName) =>
      this.client.delete('model-versions/delete', { name: mlflowName, version: String(version) }),
    );
  }

  // ---- aliases (mlflow-aliases.ts) ----

  setRegisteredModelAlias(
    tenant: string,
    name: string,
    alias: string,
    version: number,
    known?: KnownModel,
  ): Promise<void> {
    return this.aliases.set(tenant, name, alias, version, known);
  }

  deleteRegisteredModelAlias(
    tenant: string,
    name: string,
    alias: string,
    known?: KnownModel,
  ): Promise<void> {
    return this.aliases.delete(tenant, name, alias, known);
  }

  getModelVersionByAlias(
    tenant: string,
    name: string,
    alias: string,
    known?: KnownModel,
  ): Promise<ModelVersionRecord> {
    return this.aliases.get(tenant, name, alias, known);
  }

  // ---- runs ----

  createRun(tenant: string, values: RunValues | Promise<RunValues>): Promise<RunRecord> {
    return this.runs.createRun(tenant, values);
  }

  getRun(tenant: string, runId: string): Promise<RunRecord> {
    return this.runs.getRun(tenant, runId);
  }

  deleteRun(tenant: string, runId: string): Promise<void> {
    return this.runs.deleteRun(tenant, runId);
  }

  async ping(): Promise<void> {
    // A real API call (it reaches MLflow's backend store), not just /health.
    await this.client.get('registered-models/search', { max_results: 1 });
  }
}
