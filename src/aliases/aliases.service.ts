import { Injectable, OnModuleInit } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { AliasEffect } from '../transitions/alias-effect';
import { IntentReconciler } from '../audit/intent-reconciler';
import { IntentRow, IntentsRepository } from '../audit/intents.repository';
import { IntentKind } from '../database/schema';
import { ErrorCode } from '../common/errors/error-code';
import { isRegistryError } from '../common/errors/registry-error';
import { MetadataCache } from '../cache/metadata-cache';
import type { Caller } from '../common/auth/caller.decorator';
import type { Frozen } from '../common/fast-path';
import { modelUid } from '../domain/model-identity';
import { MlflowRegistry } from '../mlflow/mlflow-registry';
import type { RegisteredModelRecord } from '../mlflow/registry-types';
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
 *
 * A change is written down as an intent before the backend is asked and recorded in history
 * with the intent's removal (as stage transitions are): a process that dies in between, or a
 * call that timed out after making the change, still gets its entries recorded by the
 * reconciler, which asks the backend where the alias points.
 */
@Injectable()
export class AliasesService implements OnModuleInit {
  constructor(
    private readonly backend: MlflowRegistry,
    private readonly versions: VersionsService,
    private readonly intents: IntentsRepository,
    private readonly reconciler: IntentReconciler,
    private readonly cache: MetadataCache,
    private readonly effect: AliasEffect,
  ) {}

  /**
   * An approved request for a protected alias is applied through `set`, by its approver; an
   * alias change whose request ended before recording it is the reconciler's to settle.
   */
  onModuleInit(): void {
    const owner = {
      happened: (row: IntentRow) => this.changeHappened(row),
      describe: (row: IntentRow) => `a change of @${row.alias ?? '?'}`,
    };
    this.reconciler.register(IntentKind.SetAlias, owner);
    this.reconciler.register(IntentKind.DeleteAlias, owner);
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
      await this.underIntent(IntentKind.SetAlias, caller, model, alias, version, change, () =>
        this.backend.setRegisteredModelAlias(tenant, name, alias, version, { model }),
      );
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
      const change: AliasChange = { kind: 'deleted', alias, from };
      await this.underIntent(IntentKind.DeleteAlias, caller, model, alias, from, change, () =>
        this.backend.deleteRegisteredModelAlias(tenant, name, alias, { model }),
      );
    } finally {
      await this.cache.invalidateModel(tenant, name);
    }
  }

  /** The backend change, under an intent that carries its history entries. */
  private underIntent(
    kind: IntentKind.SetAlias | IntentKind.DeleteAlias,
    caller: Caller,
    model: RegisteredModelRecord,
    alias: string,
    version: number,
    change: AliasChange,
    inBackend: () => Promise<void>,
  ): Promise<void> {
    const uid = modelUid(model);
    return this.intents.carryOut(
      {
        id: randomUUID(),
        kind,
        tenant: caller.tenant,
        model: model.name,
        modelUid: uid,
        version,
        from: null,
        to: null,
        alias,
        entries: aliasEntries(caller, { name: model.name, uid }, change),
      },
      inBackend,
    );
  }

  /**
   * Whether an alias change left behind was made: the same model (not one re-created under
   * the name) has the alias on the version (a set) or no longer on it (a delete).
   */
  private async changeHappened(row: IntentRow): Promise<boolean> {
    if (row.alias === null) return false;
    let model: RegisteredModelRecord;
    try {
      model = await this.backend.getRegisteredModel(row.tenant_id, row.model_name);
    } catch (err) {
      if (isRegistryError(err, ErrorCode.ModelNotFound)) return false;
      throw err;
    }
    if (modelUid(model) !== row.model_uid) return false;
    const at = model.aliases[row.alias];
    return row.kind === (IntentKind.SetAlias as string) ? at === row.version : at !== row.version;
  }

  /** The version the alias points at (through the cache, as version reads are). */
  get(tenant: string, name: string, alias: string): Promise<Frozen<VersionDto>> {
    return this.cache.modelScoped(tenant, name, `alias:${alias}`, async () =>
      this.versions.toDto(tenant, await this.backend.getModelVersionByAlias(tenant, name, alias)),
    );
  }
}
