import { Injectable, OnModuleInit } from '@nestjs/common';
import { AliasEffect } from '../transitions/alias-effect';
import { HistoryRepository } from '../audit/history.repository';
import { MetadataCache } from '../cache/metadata-cache';
import type { Caller } from '../common/auth/caller.decorator';
import type { Frozen } from '../common/fast-path';
import { modelUid } from '../domain/model-identity';
import { MlflowRegistry } from '../mlflow/mlflow-registry';
import { aliasNotFound } from '../mlflow/registry-errors';
import type { VersionDto } from '../versions/dto/version.dto';
import { VersionsService } from '../versions/versions.service';
import { AliasChange, aliasEntries } from './alias-history';

/**
 * A model's aliases (`@champion`): set or move, read, delete. Each change is recorded in the
 * history of the versions it touched and retires the model's cache entries (its versions and
 * the model carry their aliases).
 *
 * The one entry point for a change is `set`/`delete` with the caller: a guard that turns the
 * change of a protected alias into an approval request (as production is) sits in front of
 * the route, and an approved request applies through `set` as well.
 */
@Injectable()
export class AliasesService implements OnModuleInit {
  constructor(
    private readonly backend: MlflowRegistry,
    private readonly versions: VersionsService,
    private readonly history: HistoryRepository,
    private readonly cache: MetadataCache,
    private readonly effect: AliasEffect,
  ) {}

  /** An approved request for a protected alias is applied through `set`, by its approver. */
  onModuleInit(): void {
    this.effect.register(async (actor, name, alias, version) => {
      await this.set(actor, name, alias, version);
      return this.backend.getModelVersion(actor.tenant, name, version);
    });
  }

  /** Where `alias` points now (undefined: nowhere); 404 for a missing model or version. */
  async current(tenant: string, name: string, alias: string, version: number) {
    const { model } = await this.backend.getModelVersionWithModel(tenant, name, version);
    return model.aliases[alias];
  }

  /** Points `alias` at `version` (creating or moving it); answers the version. */
  async set(caller: Caller, name: string, alias: string, version: number): Promise<VersionDto> {
    const { tenant } = caller;
    // 404 for a missing model or version before anything changes; the model's aliases say
    // where the alias points now.
    const { model } = await this.backend.getModelVersionWithModel(tenant, name, version);
    const from = model.aliases[alias];
    if (from === version) return this.versions.get(tenant, name, version);
    const change: AliasChange =
      from === undefined
        ? { kind: 'set', alias, to: version }
        : { kind: 'moved', alias, from, to: version };
    try {
      await this.backend.setRegisteredModelAlias(tenant, name, alias, version, { model });
      await this.history.append(aliasEntries(caller, { name, uid: modelUid(model) }, change));
    } finally {
      await this.cache.invalidateModel(tenant, name);
    }
    return this.versions.get(tenant, name, version);
  }

  /** Deletes the alias; ALIAS_NOT_FOUND when the model has none of that name. */
  async delete(caller: Caller, name: string, alias: string): Promise<void> {
    const { tenant } = caller;
    const model = await this.backend.getRegisteredModel(tenant, name);
    const from = model.aliases[alias];
    if (from === undefined) throw aliasNotFound(name, alias);
    try {
      await this.backend.deleteRegisteredModelAlias(tenant, name, alias, { model });
      await this.history.append(
        aliasEntries(caller, { name, uid: modelUid(model) }, { kind: 'deleted', alias, from }),
      );
    } finally {
      await this.cache.invalidateModel(tenant, name);
    }
  }

  /** The version the alias points at (through the cache, as version reads are). */
  get(tenant: string, name: string, alias: string): Promise<Frozen<VersionDto>> {
    return this.cache.modelScoped(tenant, name, `alias:${alias}`, async () =>
      this.versions.toDto(tenant, await this.backend.getModelVersionByAlias(tenant, name, alias)),
    );
  }
}
