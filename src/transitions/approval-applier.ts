import { Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { SchedulerRegistry } from '@nestjs/schedule';
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { ApprovalRow, ApprovalsRepository } from './approvals.repository';
import { HistoryRepository } from '../audit/history.repository';
import { ErrorCode } from '../common/errors/error-code';
import { isRegistryError } from '../common/errors/registry-error';
import { scheduleEvery, singleFlight } from '../common/scheduling/periodic';
import { AppConfig } from '../config/app-config';
import { MlflowRegistry } from '../mlflow/mlflow-registry';
import { ModelVersionRecord, RegisteredModelRecord, Stage } from '../mlflow/registry-types';
import { modelUid } from '../domain/model-identity';
import { deciderOf, requesterOf } from './principals';
import { TransitionsService } from './transitions.service';
import { Database } from '../database/database';
import { ApprovalKind, HistoryEvent } from '../database/schema';
import { SERVICE_TAGS } from '../domain/service-tags';
import { ArtifactIntegrity } from './artifact-integrity';
import { AliasEffect } from './alias-effect';
import { approvalEventIn } from './approval-events';
import { EventOutbox, stageChangedEvent } from '../events';
import { VersionsService } from '../versions/versions.service';
import type { VersionDto } from '../versions/dto/version.dto';
import { approvalEntry, systemActor } from './approval-entries';

/** The actor an integrity refusal is recorded under. */
export const INTEGRITY_ACTOR = 'policy:integrity';

/** How long an approval nobody has tried to apply yet is left to the request that approved it. */
const UNTOUCHED_GRACE_MS = 30_000;

/**
 * Applies approved production transitions: on the request path right after the decision, and
 * in the background for the ones an outage left `apply_state: pending`. The decision is
 * committed before; applying it never fails the request that made it.
 */
@Injectable()
export class ApprovalApplier implements OnApplicationBootstrap {
  private readonly logger = new Logger(ApprovalApplier.name);
  /**
   * Names this process in the apply claims it takes (see apply): the claim lives in the
   * database, so the request path, this process's retry loop and every other replica's see it.
   */
  private readonly instance = `${hostname()}/${process.pid}/${randomUUID().slice(0, 8)}`;

  constructor(
    private readonly repository: ApprovalsRepository,
    private readonly database: Database,
    private readonly history: HistoryRepository,
    private readonly backend: MlflowRegistry,
    private readonly transitions: TransitionsService,
    private readonly config: AppConfig,
    private readonly scheduler: SchedulerRegistry,
    private readonly integrity: ArtifactIntegrity,
    private readonly aliasEffect: AliasEffect,
    private readonly versions: VersionsService,
  ) {}

  /** Every APPROVAL_RETRY_INTERVAL_MS, and once at start. */
  onApplicationBootstrap(): void {
    scheduleEvery(
      this.scheduler,
      'approval-applier',
      this.config.approvalRetryIntervalMs,
      singleFlight('approval applier', () => this.retryUnapplied()),
    );
  }

  /** Applies approved transitions that an outage left pending. Safe to call at any time. */
  async retryUnapplied(): Promise<void> {
    let rows: ApprovalRow[];
    try {
      // Rows the request path has not tried yet are left to it for a while, so the two never
      // race (and a request does not answer 'pending' only because the loop got there first).
      rows = await this.repository.unapplied(50, Date.now() - UNTOUCHED_GRACE_MS);
    } catch (err) {
      this.logger.error({ err }, 'could not read approvals waiting to be applied');
      return;
    }
    for (const row of rows) await this.apply(row);
  }

  /**
   * Applies an approved request to the registry backend. Never throws: the decision is already
   * committed, so a failure here leaves the approval `apply_state: pending` (recorded, retried)
   * rather than failing a request whose effect happened.
   *
   * Whoever applies first claims the approval in the database (a lease: a conditional UPDATE
   * that succeeds only while no other claim is running), so the request path, the retry loop
   * and the retry loops of other replicas never apply the same approval at the same time; the
   * transition and its history entries are recorded once, in the transaction that marks it
   * applied. Without the claim this returns null at once: someone else is on it.
   * Returns the moved version as the backend answered it (read with its run once, for the
   * events and the answer alike), or null when it was not applied.
   */
  async apply(row: ApprovalRow): Promise<VersionDto | null> {
    const owner = `${this.instance}/${randomUUID().slice(0, 8)}`;
    try {
      // The claim lasts APPROVAL_APPLY_LEASE_MS (120 s): an attempt takes a few backend calls,
      // each bounded well below it, and a process that dies holding a claim delays the retry by
      // at most that long. Should an attempt outlive its claim, the approval is still recorded
      // once: marking it applied is a conditional UPDATE and the history commits with it.
      const lease = this.config.approvalApplyLeaseMs;
      if (!(await this.repository.claimApply(row.id, owner, Date.now(), lease))) {
        return null;
      }
    } catch (err) {
      // The database is down: the decision stands, and the retry loop comes back to it.
      this.logger.warn({ err, approvalId: row.id }, 'could not claim an approval to apply it');
      return null;
    }
    try {
      const tenant = row.tenant_id;
      const target = row.target_stage as Stage;
      const found = await this.versionStillThere(row);
      if (found === null) {
        await this.repository.markAbandoned(
          row.id,
          'the version was deleted before the transition was applied',
        );
        return null;
      }
      const current = found.version;
      const governed = target === Stage.Production || row.target_alias !== null;
      if (governed && row.artifact_sha256 !== null) {
        // Approvals are bound to the bytes that were reviewed: the stored model file is read
        // back and hashed (a store that cannot be read throws: retried like an outage).
        const verdict = await this.integrity.verify(
          tenant,
          current.tags[SERVICE_TAGS.artifactId] ?? null,
          row.version,
          row.artifact_sha256,
        );
        if (!verdict.ok) {
          await this.refuseTampered(row, verdict.reason);
          return null;
        }
      }
      const approver = deciderOf(row);
      const rollback = row.kind === (ApprovalKind.Rollback as string);
      const audit = {
        tenant,
        modelUid: row.model_uid,
        actor: approver ?? { tenantId: tenant, subject: 'unknown' },
        // A rollback's entry says so (its request comment is "rollback: <reason>").
        comment: rollback ? row.request_comment : (row.decision_comment ?? row.request_comment),
        approvalId: row.id,
        requestedBy: requesterOf(row),
        approvedBy: approver,
      };
      if (row.target_alias !== null) {
        // A protected alias: pointed at the version (its history entries are the alias's own),
        // then the request is marked applied. Setting it again after a crash changes nothing.
        const by = approver ?? { tenantId: tenant, subject: 'unknown' };
        const moved = await this.aliasEffect.apply(
          { tenant, principal: { ...by, roles: [] } },
          row.model_name,
          row.target_alias,
          row.version,
        );
        await this.database.transaction(async (trx) => {
          if (!(await this.repository.markApplied(row.id, Date.now(), trx))) return;
          await EventOutbox.record(trx, [
            await approvalEventIn(this.repository, trx, 'approval.applied', tenant, row.id),
          ]);
        });
        return this.versions.toDto(tenant, moved).catch(() => null);
      }
      const { entries, moved } = await this.transitions.apply(
        current,
        target,
        row.archive_existing_versions === 1,
        audit,
        { model: found.model },
      );
      if (current.stage === target) {
        // Already there: an earlier attempt moved it but died before recording it (or someone
        // else moved it). The call above only archived what the request asked to archive; the
        // record must not claim a move from production to production.
        entries[0] = this.transitions.entryFor(
          current,
          null,
          target,
          audit,
          `${audit.comment ?? ''} (already in ${target} when applied)`.trim(),
        );
      }
      // What the move announces: the version as the backend answered it, the versions it
      // archived on the way, and the request applied.
      const actor = { tenant, principal: { ...audit.actor, roles: [] } };
      const movedDto = await this.versions.toDto(tenant, moved);
      const changed = [
        stageChangedEvent(tenant, movedDto, {
          from: current.stage,
          to: target,
          actor: audit.actor,
          comment: audit.comment,
          approvalId: row.id,
        }),
        ...(await this.transitions.archivedEvents(tenant, entries.slice(1), actor)),
      ];
      await this.database.transaction(async (trx) => {
        if (!(await this.repository.markApplied(row.id, Date.now(), trx))) return;
        await this.history.append(entries, trx);
        await EventOutbox.record(trx, [
          ...changed,
          await approvalEventIn(this.repository, trx, 'approval.applied', tenant, row.id),
        ]);
      });
      return movedDto;
    } catch (err) {
      await this.repository
        .recordApplyFailure(row.id, err instanceof Error ? err.message : String(err))
        .catch(() => undefined);
      if (isRegistryError(err, ErrorCode.BackendUnavailable)) {
        this.logger.warn(
          { approvalId: row.id },
          'registry backend unavailable; approved transition will be retried',
        );
      } else {
        this.logger.error(
          { err, approvalId: row.id },
          'approved transition could not be applied; will retry',
        );
      }
      return null;
    } finally {
      await this.repository.releaseApply(row.id, owner).catch(() => undefined);
    }
  }

  /**
   * The stored model file is not the one reviewed: the approval stays approved, is never
   * applied (apply_state failed, final) and its history says ARTIFACT_INTEGRITY_FAILED.
   */
  private async refuseTampered(row: ApprovalRow, reason: string): Promise<void> {
    const at = Date.now();
    await this.database.transaction(async (trx) => {
      if (
        !(await this.repository.markFailed(row.id, ErrorCode.ArtifactIntegrityFailed, reason, trx))
      ) {
        return;
      }
      await this.history.append(
        [
          approvalEntry(
            row,
            HistoryEvent.ApprovalApplyFailed,
            systemActor(row.tenant_id, INTEGRITY_ACTOR),
            at,
            `${ErrorCode.ArtifactIntegrityFailed}: ${reason}`,
          ),
        ],
        trx,
      );
    });
    this.logger.error(
      { approvalId: row.id, code: ErrorCode.ArtifactIntegrityFailed },
      `approved transition refused: ${reason}`,
    );
  }

  /**
   * The version an approval is for, with its model (read together), or null when it (or its
   * model incarnation) is gone.
   */
  private async versionStillThere(
    row: ApprovalRow,
  ): Promise<{ version: ModelVersionRecord; model: RegisteredModelRecord } | null> {
    try {
      const found = await this.backend.getModelVersionWithModel(
        row.tenant_id,
        row.model_name,
        row.version,
      );
      return modelUid(found.model) === row.model_uid ? found : null;
    } catch (err) {
      if (
        isRegistryError(err, ErrorCode.ModelNotFound) ||
        isRegistryError(err, ErrorCode.VersionNotFound)
      ) {
        return null;
      }
      throw err;
    }
  }
}
