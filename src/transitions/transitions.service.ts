import { Injectable, OnModuleInit } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { HistoryEntry, HistoryRepository, HistoryRow } from '../audit/history.repository';
import { HistoryEvent } from '../database/schema';
import { IntentReconciler } from '../audit/intent-reconciler';
import { IntentRow, IntentsRepository } from '../audit/intents.repository';
import { IntentKind } from '../database/schema';
import { MetadataCache } from '../cache/metadata-cache';
import type { Caller } from '../common/auth/caller.decorator';
import type { PrincipalId } from '../common/auth/principal';
import { ErrorCode } from '../common/errors/error-code';
import { isRegistryError, RegistryError } from '../common/errors/registry-error';
import { KnownModel, MlflowRegistry } from '../mlflow/mlflow-registry';
import { ModelVersionRecord, RegisteredModelRecord, Stage } from '../mlflow/registry-types';
import type { VersionDto } from '../versions/dto/version.dto';
import { mapVersion } from '../versions/version.mapper';
import { iso } from '../common/time';
import { VersionsService } from '../versions/versions.service';
import { modelUid } from '../domain/model-identity';
import type { TransitionEntryDto } from './dto/transition-entry.dto';
import type { TransitionRequestDto } from './dto/transition-request.dto';
import { tenantOf } from './principals';
import { archiveApplies, checkArchiveFlag } from '../domain/stage';
import { PromotionRules, RequestTerms } from '../policies/promotion-rules';

/** A direct move the production policy turns into a request of kind demotion. */
export interface DemotionNeeded {
  demotion: RequestTerms;
}
import { stageChangedEvent, type NewEvent } from '../events';

interface PlannedTransition {
  archive: boolean;
  entries: HistoryEntry[];
}

/** Who made a transition and why; people are (tenant, sub), the tenant their own. */
export interface TransitionAudit {
  tenant: string;
  modelUid: string;
  actor: PrincipalId;
  comment: string | null;
  approvalId: string | null;
  requestedBy: PrincipalId | null;
  approvedBy: PrincipalId | null;
}

@Injectable()
export class TransitionsService implements OnModuleInit {
  constructor(
    private readonly backend: MlflowRegistry,
    private readonly versions: VersionsService,
    private readonly history: HistoryRepository,
    private readonly intents: IntentsRepository,
    private readonly reconciler: IntentReconciler,
    private readonly cache: MetadataCache,
    private readonly rules: PromotionRules,
  ) {}

  /**
   * A transition to none, staging or archived: applied at once, unless the rule engine says
   * otherwise (a staging gate fails: 422; the production version leaving under a production
   * policy: a demotion request, which the caller opens).
   */
  async transition(
    caller: Caller,
    name: string,
    version: number,
    dto: TransitionRequestDto,
  ): Promise<VersionDto | DemotionNeeded> {
    if (dto.stage === Stage.Production) {
      // The approval guard routes production requests to the approval workflow; reaching this
      // line means a route lost its @RequiresApproval and must fail closed.
      throw new RegistryError(
        ErrorCode.Forbidden,
        'a transition to production needs an approved request',
      );
    }
    checkArchiveFlag(dto.stage, dto.archive_existing_versions);
    const { tenant } = caller;
    // The model is read once, with the version: its identity for the audit trail, and the
    // tenant check the backend calls below need not repeat.
    const { version: current, model } = await this.versionToMove(tenant, name, version, dto.stage);
    const known: KnownModel = { model };
    const uid = modelUid(model);
    // A move does not change the version's run: it is read while the move is made, and
    // awaited (its error reported) only once the move is recorded.
    const run = this.versions.runOf(tenant, current);
    run.catch(() => undefined);
    if (dto.stage === Stage.Staging || current.stage === Stage.Production) {
      // The rules read the version's metrics and tags: the move waits for its run.
      const decision = await this.rules.direct(tenant, mapVersion(current, await run), dto.stage);
      if (decision.action === 'approval') return { demotion: decision.terms };
    }
    const planned = await this.plan(
      current,
      dto.stage,
      dto.archive_existing_versions ?? false,
      {
        tenant,
        modelUid: uid,
        actor: caller.principal,
        comment: dto.comment ?? null,
        approvalId: null,
        requestedBy: null,
        approvedBy: null,
      },
      known,
    );
    // The events ride in the intent, as the version will be once moved (a reconciler records
    // them so); the request records them with the version as the backend answered the move.
    const runRecord = await run;
    const stageChanged = (record: ModelVersionRecord): NewEvent =>
      stageChangedEvent(tenant, mapVersion(record, runRecord), {
        from: current.stage,
        to: dto.stage,
        actor: caller.principal,
        comment: dto.comment ?? null,
      });
    const archivedEvents = await this.archivedEvents(tenant, planned.entries.slice(1), caller);
    // Written before the backend is asked, removed with the history append: whatever happens
    // in between (a crash, a timeout that did move the version), the reconciler records what
    // the backend shows.
    let moved: ModelVersionRecord | undefined;
    await this.intents.carryOut(
      {
        id: randomUUID(),
        kind: IntentKind.Transition,
        tenant,
        model: name,
        modelUid: uid,
        version,
        from: current.stage,
        to: dto.stage,
        entries: planned.entries,
        events: [
          stageChanged({ ...current, stage: dto.stage, lastUpdatedAt: Date.now() }),
          ...archivedEvents,
        ],
      },
      async () => {
        moved = await this.execute(tenant, current, dto.stage, planned.archive, known);
        return [stageChanged(moved), ...archivedEvents];
      },
    );
    // The backend answers a transition with the moved version: no need to read it back.
    return mapVersion(moved!, runRecord);
  }

  /** `stage_changed` of the versions a transition archives on its way (its other entries). */
  async archivedEvents(
    tenant: string,
    entries: HistoryEntry[],
    caller: Caller,
  ): Promise<NewEvent[]> {
    return Promise.all(
      entries.map(async (e) => {
        const before = await this.versions.get(tenant, e.model_name, e.version);
        const archived: VersionDto = { ...(before as VersionDto), stage: Stage.Archived };
        return stageChangedEvent(tenant, archived, {
          from: e.from_stage ?? null,
          to: Stage.Archived,
          actor: caller.principal,
          comment: e.comment ?? null,
        });
      }),
    );
  }

  /**
   * The version as it is now, with its model (read together); 409 when the version already is
   * in `stage`.
   */
  async versionToMove(
    tenant: string,
    name: string,
    version: number,
    stage: Stage,
  ): Promise<{ version: ModelVersionRecord; model: RegisteredModelRecord }> {
    const read = await this.backend.getModelVersionWithModel(tenant, name, version);
    const current = read.version;
    if (current.stage === stage) {
      throw new RegistryError(
        ErrorCode.StageUnchanged,
        `version ${version} of '${name}' is already in ${stage}`,
        {
          stage: current.stage,
        },
      );
    }
    return read;
  }

  /**
   * Moves `current` to `stage` in the registry backend and returns the audit entries that
   * describe it, including the versions archived on the way (the caller records them, with
   * whatever else must be committed in the same transaction), and the moved version as the
   * backend answered. `known`: the model `current` was just read with.
   */
  async apply(
    current: ModelVersionRecord,
    stage: Stage,
    archiveExisting: boolean,
    audit: TransitionAudit,
    known?: KnownModel,
  ): Promise<{ entries: HistoryEntry[]; moved: ModelVersionRecord }> {
    const planned = await this.plan(current, stage, archiveExisting, audit, known);
    const moved = await this.execute(audit.tenant, current, stage, planned.archive, known);
    return { entries: planned.entries, moved };
  }

  /** A deletion happened when the backend no longer has the version (or model incarnation). */
  /** The audit entries a move of `current` to `stage` makes, incl. the versions it archives. */
  private async plan(
    current: ModelVersionRecord,
    stage: Stage,
    archiveExisting: boolean,
    audit: TransitionAudit,
    known?: KnownModel,
  ): Promise<PlannedTransition> {
    const archive = archiveExisting && archiveApplies(stage);
    const displaced = archive
      ? (
          await this.backend.searchModelVersions(audit.tenant, current.name, { stage }, known)
        ).filter((v) => v.version !== current.version)
      : [];
    const entries = [
      this.entryFor(current, current.stage, stage, audit, audit.comment),
      ...displaced.map((v) =>
        this.entryFor(
          v,
          v.stage,
          Stage.Archived,
          audit,
          `archived: version ${current.version} moved to ${stage}`,
        ),
      ),
    ];
    return { archive, entries };
  }

  /**
   * Asks the registry backend for the move and returns the moved version; the model's cached
   * entries go either way.
   */
  private async execute(
    tenant: string,
    current: ModelVersionRecord,
    stage: Stage,
    archive: boolean,
    known?: KnownModel,
  ): Promise<ModelVersionRecord> {
    try {
      return await this.backend.transitionModelVersionStage(
        tenant,
        current.name,
        current.version,
        stage,
        archive,
        known,
      );
    } finally {
      await this.cache.invalidateModel(tenant, current.name);
    }
  }

  /** The intents of direct transitions are this module's to settle. */
  onModuleInit(): void {
    this.reconciler.register(IntentKind.Transition, {
      happened: (row) => this.transitionHappened(row),
      describe: (row) => `a stage transition to ${row.to_stage}`,
    });
  }

  /**
   * Whether a direct transition whose request ended before recording it happened: the history
   * gets the move if the backend shows it (and no later entry already stands for it).
   */
  private async transitionHappened(row: IntentRow): Promise<boolean> {
    const { tenant_id: tenant, model_name: model, model_uid: uid, version } = row;
    let stage: Stage | null;
    try {
      const current = await this.backend.getModelVersion(tenant, model, version);
      stage = (await this.versions.getModelUid(tenant, model)) === uid ? current.stage : null;
    } catch (err) {
      if (
        !isRegistryError(err, ErrorCode.ModelNotFound) &&
        !isRegistryError(err, ErrorCode.VersionNotFound)
      ) {
        throw err;
      }
      stage = null; // deleted since: nothing to record for a version that is gone
    }
    const later = await this.history.transitionsSince(tenant, model, uid, version, row.created_at);
    const to = row.to_stage as Stage;
    // Another request recorded a move to the same stage since: its entry stands for it.
    const covered = later.some((e) => e.to_stage === to);
    const happened = stage === to || later.some((e) => e.from_stage === to);
    return happened && !covered;
  }

  /** One 'transition' entry of the audit trail. */
  entryFor(
    version: ModelVersionRecord,
    from: Stage | null,
    to: Stage,
    audit: TransitionAudit,
    comment: string | null,
  ): HistoryEntry {
    return {
      tenant_id: audit.tenant,
      model_name: version.name,
      model_uid: audit.modelUid,
      version: version.version,
      event: HistoryEvent.Transition,
      from_stage: from,
      to_stage: to,
      actor: audit.actor.subject,
      actor_tenant: audit.actor.tenantId,
      at: Date.now(),
      comment,
      approval_id: audit.approvalId,
      requested_by: audit.requestedBy?.subject ?? null,
      requested_by_tenant: audit.requestedBy?.tenantId ?? null,
      approved_by: audit.approvedBy?.subject ?? null,
      approved_by_tenant: audit.approvedBy?.tenantId ?? null,
    };
  }

  async historyOf(tenant: string, name: string, version: number): Promise<TransitionEntryDto[]> {
    await this.versions.get(tenant, name, version); // 404 for a missing version
    const uid = await this.versions.getModelUid(tenant, name);
    const rows = await this.history.forVersion(tenant, name, uid, version);
    return rows.map(mapHistory);
  }
}

export function mapHistory(row: HistoryRow): TransitionEntryDto {
  return {
    id: Number(row.id),
    event: row.event as HistoryEvent,
    from_stage: row.from_stage as Stage | null,
    to_stage: row.to_stage as Stage | null,
    actor: row.actor,
    actor_tenant: row.actor_tenant ?? row.tenant_id,
    timestamp: iso(Number(row.at)),
    comment: row.comment,
    approval_id: row.approval_id,
    requested_by: row.requested_by,
    requested_by_tenant: tenantOf(row.requested_by, row.requested_by_tenant, row.tenant_id),
    approved_by: row.approved_by,
    approved_by_tenant: tenantOf(row.approved_by, row.approved_by_tenant, row.tenant_id),
  };
}
