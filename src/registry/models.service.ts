import { Injectable } from '@nestjs/common';
import { MetadataCache } from '../cache/metadata-cache';
import { MlflowRegistry } from '../mlflow/mlflow-registry';
import type { ModelSearchQuery } from '../mlflow/model-search';
import type { UpdateMetadataDto } from '../versions/dto/update-metadata.dto';
import { requireSomeChange } from '../versions/update-metadata';
import { VersionsService } from '../versions/versions.service';
import type { ListModelsQueryDto } from './dto/list-models.query.dto';
import type { ModelDto, ModelListDto, ModelSummaryDto } from './dto/model.dto';
import { mapModelSummary } from './model.mapper';
import type { Frozen } from '../common/fast-path';

/**
 * Registered models: list, read, update. Registering a version is its own use case
 * (registration/), deleting one too (deletion/).
 */
@Injectable()
export class ModelsService {
  constructor(
    private readonly backend: MlflowRegistry,
    private readonly versions: VersionsService,
    private readonly cache: MetadataCache,
  ) {}

  async list(tenant: string, query: ListModelsQueryDto): Promise<Frozen<ModelListDto>> {
    const search: ModelSearchQuery = {
      maxResults: query.max_results ?? 100,
      pageToken: query.page_token,
      nameLike: query.name_like,
      orderBy: query.order_by ?? 'name',
    };
    return this.cache.listScoped(
      tenant,
      `list:${JSON.stringify([search.maxResults, search.orderBy, search.nameLike ?? null, search.pageToken ?? null])}`,
      async () => {
        const page = await this.backend.searchRegisteredModels(tenant, search);
        const result: ModelListDto = { models: page.items.map(mapModelSummary) };
        if (page.nextPageToken !== undefined) result.next_page_token = page.nextPageToken;
        return result;
      },
    );
  }

  async get(tenant: string, name: string): Promise<Frozen<ModelDto>> {
    // Read at once; the model's error (e.g. MODEL_NOT_FOUND) is the one reported.
    const [model, versions] = await Promise.allSettled([
      this.versions.getModelRecord(tenant, name),
      this.versions.list(tenant, name),
    ]);
    if (model.status === 'rejected') throw model.reason;
    if (versions.status === 'rejected') throw versions.reason;
    return { ...mapModelSummary(model.value), versions: versions.value };
  }

  async update(tenant: string, name: string, dto: UpdateMetadataDto): Promise<ModelSummaryDto> {
    requireSomeChange(dto);
    await this.backend.getRegisteredModel(tenant, name);
    try {
      if (dto.description !== undefined) {
        await this.backend.updateRegisteredModel(tenant, name, { description: dto.description });
      }
      for (const [key, value] of Object.entries(dto.tags ?? {})) {
        if (value === null) await this.backend.deleteRegisteredModelTag(tenant, name, key);
        else await this.backend.setRegisteredModelTag(tenant, name, key, value);
      }
    } finally {
      await this.cache.invalidateModel(tenant, name);
    }
    return mapModelSummary(await this.versions.getModelRecord(tenant, name));
  }
}
