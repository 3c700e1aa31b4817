import { Injectable } from '@nestjs/common';
import {
  HistoryEntry,
  HistoryEvent,
  HistoryRepository,
  HistoryRow,
} from '../audit/history.repository';
import { MetadataCache } from '../cache/metadata-cache';
import type { Caller } from '../common/auth/caller.decorator';
import { ErrorCode } from '../common/errors/error-code';
import { RegistryError } from '../common/errors/registry-error';
import { MlflowRegistry } from '../mlflow/mlflow-registry';
import { ModelVersionRecord, Stage } from '../mlflow/registry-types';
import type { VersionDto } from '../versions/dto/version.dto';
import { iso } from '../versions/version.mapper';
import { VersionsService } from '../versions/versions.service';
import type { TransitionEntryDto } from './dto/transition-entry.dto';
import type { TransitionRequestDto } from './dto/transition-request.dto';

/** Stages that several versions may hold at once, and that `archive_existing_versions` clears. */
const ACTIVE_STAGES: readonly Stage[] = [Stage.Staging, Stage.Production];

export interface TransitionAudit {
  tenant: string;
  modelUid: string;
  actor: string;
  comment: string | null;
  approvalId: string | null;
  requestedBy: string | null;
  approvedBy: string | null;
}

export function checkArchiveFlag(stage: Stage, archive: boolean | undefined): void {
  if (archive === true && !ACTIVE_STAGES.includes(stage)) {
    throw RegistryError.validation(
      'archive_existing_versions applies only to staging or production',
    );
  }
}

@Injectable()
export class TransitionsService {
  constructor(
    private readonly registry: MlflowRegistry,
    private readonly versions: VersionsService,
    private readonly history: HistoryRepository,
    private readonly cache: MetadataCache,
  ) {}

  /** A transition that needs no approval (none, staging, archived): applied at once. */
  async transition(
    caller: Caller,
    name: string,
    version: number,
    dto: TransitionRequestDto,
  ): Promise<VersionDto> {
    if (dto.stage === Stage.Production) {
      // The approval guard routes production requests to the approval workflow; reaching this
      // line means a route lost its @RequiresApproval and must fail closed.
      throw new RegistryError(
        ErrorCode.Forbidden,
        'a transition to production needs an approved request',
      );
    }
    checkArchiveFlag(dto.stage, dto.archive_existing_versions);
    const current = await this.versionToMove(caller.tenant, name, version, dto.stage);
    const entries = await this.apply(current, dto.stage, dto.archive_existing_versions ?? false, {
      tenant: caller.tenant,
      modelUid: await this.versions.getModelUid(caller.tenant, name),
      actor: caller.principal.subject,
      comment: dto.comment ?? null,
      approvalId: null,
      requestedBy: null,
      approvedBy: null,
    });
    await this.history.append(entries);
    return this.versions.get(caller.tenant, name, version);
  }

  /** The version as it is now; 409 when it already is in `stage`. */
  async versionToMove(
    tenant: string,
    name: string,
    version: number,
    stage: Stage,
  ): Promise<ModelVersionRecord> {
    const current = await this.registry.getModelVersion(tenant, name, version);
    if (current.stage === stage) {
      throw new RegistryError(
        ErrorCode.StageUnchanged,
        `version ${version} of '${name}' is already in ${stage}`,
        {
          stage: current.stage,
        },
      );
    }
    return current;
  }

  /**
   * Moves `current` to `stage` in the registry backend and returns the audit entries that
   * describe it, including the versions archived on the way. The caller records them (with
   * whatever else must be committed in the same transaction).
   */
  async apply(
    current: ModelVersionRecord,
    stage: Stage,
    archiveExisting: boolean,
    audit: TransitionAudit,
  ): Promise<HistoryEntry[]> {
    const { tenant } = audit;
    const archive = archiveExisting && ACTIVE_STAGES.includes(stage);
    const displaced = archive
      ? (await this.registry.searchModelVersions(tenant, current.name, { stage })).filter(
          (v) => v.version !== current.version,
        )
      : [];
    try {
      await this.registry.transitionModelVersionStage(
        tenant,
        current.name,
        current.version,
        stage,
        archive,
      );
    } finally {
      await this.cache.invalidateModel(tenant, current.name);
    }
    return [
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
      actor: audit.actor,
      at: Date.now(),
      comment,
      approval_id: audit.approvalId,
      requested_by: audit.requestedBy,
      approved_by: audit.approvedBy,
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
    timestamp: iso(Number(row.at)),
    comment: row.comment,
    approval_id: row.approval_id,
    requested_by: row.requested_by,
    approved_by: row.approved_by,
  };
}
