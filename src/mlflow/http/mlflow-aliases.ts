import type { KnownModel } from '../mlflow-registry';
import { aliasNotFound } from '../registry-errors';
import type { ModelVersionRecord } from '../registry-types';
import { isCode } from './mlflow-errors';
import { MlflowHttpClient } from './mlflow-http-client';
import { MlflowModelVersion, toVersion } from './mlflow-mapper';
import { MlflowModelAccess } from './mlflow-model-access';

/**
 * Aliases on a real MLflow server: `registered-models/alias` (POST sets or moves, DELETE
 * deletes, GET reads the version it points at). MLflow keeps them itself, so its clients and
 * serving tools resolve `models:/<tenant>~<model>@<alias>`. Every call on a model checks that it
 * is the tenant's first (MlflowModelAccess).
 */
export class MlflowAliases {
  constructor(
    private readonly client: MlflowHttpClient,
    private readonly models: MlflowModelAccess,
  ) {}

  async set(
    tenant: string,
    name: string,
    alias: string,
    version: number,
    known?: KnownModel,
  ): Promise<void> {
    await this.models.check(tenant, name, known);
    // MLflow answers "does not exist" for a missing version (and a model gone since).
    await this.models.onVersion(tenant, name, version, (mlflowName) =>
      this.client.post(
        'registered-models/alias',
        { name: mlflowName, alias, version: String(version) },
        // Setting an alias to the version it already names leaves the same state.
        'idempotent',
      ),
    );
  }

  /** MLflow deletes an alias that is not there without complaint, as the port wants. */
  async delete(tenant: string, name: string, alias: string, known?: KnownModel): Promise<void> {
    await this.models.check(tenant, name, known);
    await this.models.onModel(tenant, name, (mlflowName) =>
      this.client.delete('registered-models/alias', { name: mlflowName, alias }),
    );
  }

  async get(
    tenant: string,
    name: string,
    alias: string,
    known?: KnownModel,
  ): Promise<ModelVersionRecord> {
    await this.models.check(tenant, name, known);
    try {
      const { model_version } = await this.client.get<{ model_version: MlflowModelVersion }>(
        'registered-models/alias',
        { name: this.models.mlflowName(tenant, name), alias },
      );
      return toVersion(model_version);
    } catch (err) {
      // MLflow 3 says INVALID_PARAMETER_VALUE "Registered model alias X not found." (names are
      // checked before the port, so that is the only refusal left); RESOURCE_DOES_NOT_EXIST is a
      // model deleted since the check, or an alias whose version went (older servers).
      if (isCode(err, 'INVALID_PARAMETER_VALUE') || isCode(err, 'RESOURCE_DOES_NOT_EXIST')) {
        await this.models.fetch(tenant, name);
        throw aliasNotFound(name, alias);
      }
      throw err;
    }
  }
}
