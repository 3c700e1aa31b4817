import { Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { ArtifactsService } from '../../artifacts/artifacts.service';
import { directEntry } from '../../audit/direct-entry';
import { HistoryEvent } from '../../database/schema';
import { IntentReconciler } from '../../audit/intent-reconciler';
import { IntentRow, IntentsRepository } from '../../audit/intents.repository';
import { IntentKind } from '../../database/schema';
import { MetadataCache } from '../../cache/metadata-cache';
import type { Caller } from '../../common/auth/caller.decorator';
import { ErrorCode } from '../../common/errors/error-code';
import { isRegistryError } from '../../common/errors/registry-error';
import { DomainEvents } from '../../common/events/domain-events';
import { MlflowRegistry } from '../../mlflow/mlflow-registry';
import type { ModelVersionRecord } from '../../mlflow/registry-types';
import { VersionsService } from '../../versions/versions.service';
import { modelUid } from '../../domain/model-identity';
import { modelEvent, versionEvent, type NewEvent } from '../../events';
import { mapModelSummary } from '../model.mapper';

/**
 * Deleting a model or a version, and settling a deletion whose request ended before it was
 * recorded: both here, so that what a deletion writes and how its crash is recovered are read
 * together. What else points at the deleted versions reacts to `model.deleted` (transitions
 * cancel their pending requests) without this module knowing it.
 */
@Injectable()
export class ModelDeletion implements OnModuleInit {
  private readonly logger = new Logger(ModelDeletion.name);

  constructor(
    private readonly backend: MlflowRegistry,
    private readonly versions: VersionsService,
    private readonly artifacts: ArtifactsService,
    private readonly intents: IntentsRepository,
    private readonly reconciler: IntentReconciler,
    private readonly cache: MetadataCache,
    private readonly events: DomainEvents,
  ) {}

  onModuleInit(): void {
    const owner = {
      happened: (row: IntentRow) => this.deletionHappened(row),
      describe: () => 'a deletion',
    };
    this.reconciler.register(IntentKind.DeleteModel, owner);
    this.reconciler.register(IntentKind.DeleteVersion, owner);
  }

  /**
   * Deletes a model with its versions, their runs and their artifact bytes. Pending approval
   * requests are cancelled; the history of every version stays, with a 'deleted' entry naming
   * the admin.
   */
  async deleteModel(caller: Caller, name: string): Promise<void> {
    const { tenant } = caller;
    const model = await this.backend.getRegisteredModel(tenant, name);
    const versions = await this.backend.searchModelVersions(tenant, name);
    const deleted = modelEvent('model.deleted', tenant, mapModelSummary(model), actorOf(caller));
    await this.remove(
      caller,
      name,
      modelUid(model),
      versions,
      'model deleted',
      undefined,
      [deleted],
      () => this.backend.deleteRegisteredModel(tenant, name),
    );
  }

  /** Deletes one version, its run and its artifact bytes; its history stays. */
  async deleteVersion(caller: Caller, name: string, version: number): Promise<void> {
    const { tenant } = caller;
    const record = await this.backend.getModelVersion(tenant, name, version);
    const uid = await this.versions.getModelUid(tenant, name);
    const deleted = versionEvent(
      'model_version.deleted',
      tenant,
      await this.versions.toDto(tenant, record),
      actorOf(caller),
    );
    await this.remove(caller, name, uid, [record], 'version deleted', version, [deleted], () =>
      this.backend.deleteModelVersion(tenant, name, version),
    );
  }

  /**
   * The registry deletion first: if it fails, nothing else has changed. Its history entries are
   * written down as an intent before, and recorded with the intent's removal after, so a process
   * that dies in between (or a call that failed after deleting) still gets them recorded by the
   * reconciler. Then what pointed at the deleted versions: pending requests are cancelled, and
   * runs and bytes that nothing references any more are removed.
   */
  private async remove(
    caller: Caller,
    name: string,
    uid: string,
    versions: ModelVersionRecord[],
    reason: string,
    version: number | undefined,
    events: NewEvent[],
    deleteInRegistry: () => Promise<void>,
  ): Promise<void> {
    const { tenant } = caller;
    // A deleted version takes its aliases with it: each leaves an alias_deleted entry (the
    // version's history says which aliases went), then the deletion itself.
    const entries = versions.flatMap((v) => {
      const place = { model: name, uid, version: v.version };
      return [
        ...v.aliases.map((alias) =>
          directEntry(caller, place, HistoryEvent.AliasDeleted, {
            comment: `@${alias} deleted with version ${v.version}`,
          }),
        ),
        directEntry(caller, place, HistoryEvent.Deleted, { from_stage: v.stage, comment: reason }),
      ];
    });
    try {
      await this.intents.carryOut(
        {
          id: randomUUID(),
          kind: version === undefined ? IntentKind.DeleteModel : IntentKind.DeleteVersion,
          tenant,
          model: name,
          modelUid: uid,
          version: version ?? 0,
          from: null,
          to: null,
          entries,
          events,
        },
        deleteInRegistry,
      );
    } finally {
      await this.cache.invalidateModel(tenant, name);
    }
    await this.events.publish('model.deleted', {
      actor: caller,
      tenant,
      model: name,
      modelUid: uid,
      version,
      reason,
    });
    for (const v of versions) {
      if (v.runId === null) continue;
      await this.backend.deleteRun(tenant, v.runId).catch((err: unknown) => {
        this.logger.warn({ err, runId: v.runId }, 'could not delete the run of a deleted version');
      });
    }
    await this.artifacts.deleteRegistered(tenant, name, version);
  }

  /** Whether a deletion whose request ended before recording it was made in the backend. */
  private async deletionHappened(row: IntentRow): Promise<boolean> {
    const { tenant_id: tenant, model_name: model, model_uid: uid, version } = row;
    try {
      if (row.kind === (IntentKind.DeleteVersion as string)) {
        await this.backend.getModelVersion(tenant, model, version);
      }
      return (await this.versions.getModelUid(tenant, model)) !== uid;
    } catch (err) {
      if (
        !isRegistryError(err, ErrorCode.ModelNotFound) &&
        !isRegistryError(err, ErrorCode.VersionNotFound)
      ) {
        throw err;
      }
      return true;
    }
  }
}

/** Who deleted, in a deletion event's data (as the history names people). */
function actorOf(caller: Caller): { actor: string; actor_tenant: string } {
  return { actor: caller.principal.subject, actor_tenant: caller.principal.tenantId };
}
