import { Injectable } from '@nestjs/common';
import { ErrorCode } from '../common/errors/error-code';
import { isRegistryError } from '../common/errors/registry-error';
import { MetadataCache } from '../cache/metadata-cache';
import { MlflowRegistry } from '../mlflow/mlflow-registry';
import type {
  ModelVersionRecord,
  RegisteredModelRecord,
  RunRecord,
  Stage,
} from '../mlflow/registry-types';
import type { UpdateMetadataDto } from './dto/update-metadata.dto';
import type { VersionDto } from './dto/version.dto';
import { requireSomeChange } from './update-metadata';
import { mapVersion } from './version.mapper';

import { modelUid } from '../domain/model-identity';
import type { Frozen } from '../common/fast-path';
import { Database } from '../database/database';
import { EventOutbox, versionEvent } from '../events';

/**
 * Reads and metadata updates of model versions, through the cache. Also the one place that
 * knows how to load a model record and its identity (`modelUid`) for the other modules.
 */
@Injectable()
export class VersionsService {
  constructor(
    private readonly backend: MlflowRegistry,
    private readonly cache: MetadataCache,
    private readonly database: Database,
  ) {}

  getModelRecord(tenant: string, name: string): Promise<Frozen<RegisteredModelRecord>> {
    return this.cache.modelScoped(tenant, name, 'model', () =>
      this.backend.getRegisteredModel(tenant, name),
    );
  }

  /**
   * A model's identity across deletion and re-creation under the same name, so that the audit
   * trail of a deleted model never mixes with its successor's.
   */
  async getModelUid(tenant: string, name: string): Promise<string> {
    return modelUid(await this.getModelRecord(tenant, name));
  }

  get(tenant: string, name: string, version: number): Promise<Frozen<VersionDto>> {
    return this.cache.modelScoped(tenant, name, `v:${version}`, async () =>
      this.toDto(tenant, await this.backend.getModelVersion(tenant, name, version)),
    );
  }

  list(tenant: string, name: string, stage?: Stage): Promise<Frozen<VersionDto[]>> {
    return this.cache.modelScoped(tenant, name, `versions:${stage ?? '*'}`, async () => {
      const records = await this.backend.searchModelVersions(tenant, name, stage ? { stage } : {});
      return Promise.all(records.map((r) => this.toDto(tenant, r)));
    });
  }

  async update(
    tenant: string,
    name: string,
    version: number,
    dto: UpdateMetadataDto,
  ): Promise<VersionDto> {
    requireSomeChange(dto);
    // Existence first (404), so a PATCH of a missing version changes nothing anywhere.
    await this.backend.getModelVersion(tenant, name, version);
    try {
      if (dto.description !== undefined) {
        await this.backend.updateModelVersion(tenant, name, version, {
          description: dto.description,
        });
      }
      for (const [key, value] of Object.entries(dto.tags ?? {})) {
        if (value === null) await this.backend.deleteModelVersionTag(tenant, name, version, key);
        else await this.backend.setModelVersionTag(tenant, name, version, key, value);
      }
    } finally {
      await this.cache.invalidateModel(tenant, name);
    }
    const updated = await this.get(tenant, name, version);
    // The change is on the registry backend (MLflow), with no history entry to ride with: the
    // event is recorded once the change is made. Should that fail, the request fails and its
    // retry (a PATCH may be repeated) records it.
    await this.database.transaction((trx) =>
      EventOutbox.record(trx, [versionEvent('model_version.updated', tenant, updated)]),
    );
    return updated;
  }

  toDto = async (tenant: string, record: ModelVersionRecord): Promise<VersionDto> =>
    mapVersion(record, await this.runOf(tenant, record));

  /** The run holding a version's metrics and parameters; null when it has none (any more). */
  runOf = async (tenant: string, record: ModelVersionRecord): Promise<RunRecord | null> => {
    if (!record.runId) return null;
    try {
      return await this.backend.getRun(tenant, record.runId);
    } catch (err) {
      // A run removed behind our back (e.g. in MLflow's UI) loses the metrics, not the version.
      if (!isRegistryError(err, ErrorCode.RunNotFound)) throw err;
      return null;
    }
  };
}
