import type { KnownModel } from '../mlflow-registry';
import { modelNotFound, versionNotFound } from '../registry-errors';
import { isCode } from './mlflow-errors';
import { MlflowHttpClient } from './mlflow-http-client';
import { MlflowRegisteredModel, tagsOf } from './mlflow-mapper';
import { MlflowTenancy } from './mlflow-tenancy';

/**
 * Calls on one of a tenant's MLflow models: the ownership check (a model of the right name but
 * without the tenant's tags is "not found"), and MLflow's one "does not exist" told apart into
 * the port's MODEL_NOT_FOUND and VERSION_NOT_FOUND.
 */
export class MlflowModelAccess {
  constructor(
    private readonly client: MlflowHttpClient,
    private readonly tenancy: MlflowTenancy,
  ) {}

  /** The tenant's model's MLflow name (`<tenant>~<model>`). */
  mlflowName(tenant: string, name: string): string {
    return this.tenancy.mlflowName(tenant, name);
  }

  /** The raw MLflow model, or MODEL_NOT_FOUND when it does not exist in this tenant. */
  async fetch(tenant: string, name: string): Promise<MlflowRegisteredModel> {
    try {
      const { registered_model } = await this.client.get<{
        registered_model: MlflowRegisteredModel;
      }>('registered-models/get', { name: this.tenancy.mlflowName(tenant, name) });
      if (!this.tenancy.ownedBy(tagsOf(registered_model.tags), tenant)) throw modelNotFound(name);
      return registered_model;
    } catch (err) {
      if (isCode(err, 'RESOURCE_DOES_NOT_EXIST')) throw modelNotFound(name);
      throw err;
    }
  }

  /**
   * The ownership check before a call on a model: skipped for a model the caller has just read
   * from this registry (MLflow still answers "does not exist" should it be gone since).
   */
  async check(tenant: string, name: string, known?: KnownModel): Promise<void> {
    if (this.trusts(name, known)) {
      this.tenancy.mlflowName(tenant, name); // the same validation as a lookup
      return;
    }
    await this.fetch(tenant, name);
  }

  /** Whether `check` skips the lookup: a call that must still tell a gone model apart asks. */
  trusts(name: string, known?: KnownModel): known is KnownModel {
    return known !== undefined && known.model.name === name;
  }

  /**
   * Runs a call on one version; MLflow's "does not exist" is told apart into a missing model
   * and a missing version with one more lookup (only on that error path).
   */
  async onVersion<T>(
    tenant: string,
    name: string,
    version: number,
    call: (mlflowName: string) => Promise<T>,
  ): Promise<T> {
    try {
      return await call(this.tenancy.mlflowName(tenant, name));
    } catch (err) {
      if (!isCode(err, 'RESOURCE_DOES_NOT_EXIST')) throw err;
      await this.fetch(tenant, name);
      throw versionNotFound(name, version);
    }
  }

  /** Runs a call on one model; MLflow's "does not exist" becomes MODEL_NOT_FOUND. */
  async onModel<T>(
    tenant: string,
    name: string,
    call: (mlflowName: string) => Promise<T>,
  ): Promise<T> {
    try {
      return await call(this.tenancy.mlflowName(tenant, name));
    } catch (err) {
      if (isCode(err, 'RESOURCE_DOES_NOT_EXIST')) throw modelNotFound(name);
      throw err;
    }
  }
}
