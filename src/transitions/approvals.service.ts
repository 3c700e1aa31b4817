import { Injectable, OnModuleInit } from '@nestjs/common';
import { ApprovalRow, ApprovalsRepository, PageCursor } from './approvals.repository';
import { HistoryRepository } from '../audit/history.repository';
import { ApprovalKind, ApprovalStatus, HistoryEvent } from '../database/schema';
import type { Caller } from '../common/auth/caller.decorator';
import { hasPermission, Permission } from '../common/auth/roles';
import { ErrorCode } from '../common/errors/error-code';
import { isRegistryError, RegistryError } from '../common/errors/registry-error';
import { DomainEvents } from '../common/events/domain-events';
import { isUniqueViolation } from '../database/unique-violation';
import { VersionsService } from '../versions/versions.service';
import { modelUid } from '../domain/model-identity';
import { mapApproval } from './approval.mapper';
import type { ApprovalDecisionResultDto, ApprovalDto, ApprovalListDto } from './dto/approval.dto';
import type { ListApprovalsQueryDto } from './dto/approval-queries.dto';
import type { TransitionRequestDto } from './dto/transition-request.dto';
import type { RollbackDto } from './dto/rollback.dto';
import { requesterOf, samePrincipal } from './principals';
import { TransitionsService } from './transitions.service';
import { checkArchiveFlag } from '../domain/stage';
import { Database } from '../database/database';
import { Candidate, PromotionRules, RequestTerms } from '../policies/promotion-rules';
import { ModelVersionRecord, Stage } from '../mlflow/registry-types';
import { ArtifactIntegrity } from './artifact-integrity';
import { approvalEntry } from './approval-entries';
import { approvalEvent, EventOutbox } from '../events';
import { ApprovalDecisions, decidingRoles } from './approval-decisions';
import { mapVersion } from '../versions/version.mapper';

function encodeCursor(c: PageCursor): string {
  return Buffer.from(JSON.stringify(c)).toString('base64url');
}

function decodeCursor(token: string): PageCursor {
  try {
    const c = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as Partial<PageCursor>;
    if (typeof c.at === 'number' && typeof c.id === 'string') return { at: c.at, id: c.id };
  } catch {
    // fall through
  }
  throw RegistryError.validation('page_token is not a token this service issued');
}

/** What opening a request needs to know. */
interface Opening {
  alias?: string;
  name: string;
  version: number;
  uid: string;
  target: Stage;
  archiveExisting: boolean;
  comment: string | null;
  terms: RequestTerms;
  /** The version's artifact (its recorded digest binds the request to those bytes). */
  artifactId: string | null;
}

/**
 * Opens, reads and withdraws approval requests (promotion, demotion, rollback); votes and
 * decisions are ApprovalDecisions'. What a request needs (votes, roles, rules, expiry) is the
 * rule engine's answer when it is opened, kept on the request.
 */
@Injectable()
export class ApprovalsService implements OnModuleInit {
  constructor(
    private readonly repository: ApprovalsRepository,
    private readonly database: Database,
    private readonly history: HistoryRepository,
    private readonly versions: VersionsService,
    private readonly transitions: TransitionsService,
    private readonly rules: PromotionRules,
    private readonly integrity: ArtifactIntegrity,
    private readonly decisions: ApprovalDecisions,
    private readonly events: DomainEvents,
  ) {}

  /** A request to move a version to production (the approval guard routed it here). */
  async request(
    caller: Caller,
    name: string,
    version: number,
    dto: TransitionRequestDto,
  ): Promise<ApprovalDto> {
    checkArchiveFlag(dto.stage, dto.archive_existing_versions);
    const { tenant } = caller;
    const moving = await this.transitions.versionToMove(tenant, name, version, dto.stage);
    await this.refuseSecondRequest(tenant, name, version);
    const candidate = new Candidate(moving.version, (r) => this.versions.toDto(tenant, r));
    const terms = await this.rules.request(tenant, candidate, ApprovalKind.Promotion);
    return this.open(caller, {
      name,
      version,
      uid: modelUid(moving.model),
      target: dto.stage,
      archiveExisting: dto.archive_existing_versions ?? true,
      comment: dto.comment ?? null,
      terms,
      artifactId: artifactIdOf(moving.version),
    });
  }

  /**
   * The version in production moving elsewhere under a production policy that governs it: a
   * request of kind demotion (the rule engine said so), with the same votes as a promotion.
   */
  async requestDemotion(
    caller: Caller,
    name: string,
    version: number,
    dto: TransitionRequestDto,
    terms: RequestTerms,
  ): Promise<ApprovalDto> {
    const { tenant } = caller;
    await this.refuseSecondRequest(tenant, name, version);
    const candidate = await this.versions.get(tenant, name, version);
    return this.open(caller, {
      name,
      version,
      uid: await this.versions.getModelUid(tenant, name),
      target: dto.stage,
      archiveExisting: dto.archive_existing_versions ?? false,
      comment: dto.comment ?? null,
      terms,
      artifactId: candidate.artifact_id,
    });
  }

  /**
   * Back to a version that was in production before: a production request of kind rollback.
   * Every rule of the production policy applies but no_regression (it goes back on purpose).
   */
  async rollback(caller: Caller, name: string, dto: RollbackDto): Promise<ApprovalDto> {
    const { tenant } = caller;
    const version = dto.to_version;
    const moving = await this.transitions.versionToMove(tenant, name, version, Stage.Production);
    const uid = modelUid(moving.model);
    const entries = await this.history.forVersion(tenant, name, uid, version);
    const wasInProduction = entries.some(
      (e) =>
        e.event === (HistoryEvent.Transition as string) &&
        e.to_stage === (Stage.Production as string),
    );
    if (!wasInProduction) {
      throw new RegistryError(
        ErrorCode.NotAPreviousProduction,
        `version ${version} of '${name}' was never in production: a rollback goes back to a version that was`,
        { version },
      );
    }
    await this.refuseSecondRequest(tenant, name, version);
    const candidate = new Candidate(moving.version, (r) => this.versions.toDto(tenant, r));
    const terms = await this.rules.request(tenant, candidate, ApprovalKind.Rollback);
    return this.open(caller, {
      name,
      version,
      uid,
      target: Stage.Production,
      archiveExisting: true,
      comment: `rollback: ${dto.reason}`,
      terms,
      artifactId: artifactIdOf(moving.version),
    });
  }

  /** One vote (see ApprovalDecisions). */
  approve(caller: Caller, id: string, comment: string | undefined) {
    return this.decisions.approve(caller, id, comment);
  }

  /** One reject by an eligible approver ends the request. */
  reject(caller: Caller, id: string, comment: string) {
    return this.decisions.reject(caller, id, comment);
  }

  /**
   * A protected alias set or moved onto a version: a request (the rule engine gave its terms)
   * that, once approved, points the alias at the version; the stage does not change.
   */
  async requestAlias(
    caller: Caller,
    name: string,
    version: number,
    alias: string,
    comment: string | null,
  ): Promise<ApprovalDto> {
    const { tenant } = caller;
    const candidate = await this.versions.get(tenant, name, version);
    // The request's own state (409) before its rules (422).
    const existing = await this.repository.findPending(tenant, name, version, alias);
    if (existing !== undefined) throw alreadyPending(name, version, existing.id);
    const terms = await this.rules.aliasTerms(tenant, candidate);
    return this.open(caller, {
      alias,
      name,
      version,
      uid: await this.versions.getModelUid(tenant, name),
      target: candidate.stage,
      archiveExisting: false,
      comment: comment ?? `set @${alias}`,
      terms,
      artifactId: candidate.artifact_id,
    });
  }

  async get(tenant: string, id: string): Promise<ApprovalDto> {
    return this.decisions.present(await this.decisions.require(tenant, id));
  }

  async list(caller: Caller, query: ListApprovalsQueryDto): Promise<ApprovalListDto> {
    const limit = query.max_results ?? 100;
    const rows = await this.repository.list(
      caller.tenant,
      {
        status: query.status,
        model: query.model,
        kind: query.kind,
        requestedBy: query.requested_by,
        awaiting:
          query.awaiting_me === true
            ? {
                principal: caller.principal,
                decidingRoles: decidingRoles(caller),
                now: Date.now(),
              }
            : undefined,
      },
      limit + 1,
      query.page_token !== undefined ? decodeCursor(query.page_token) : undefined,
    );
    const page = rows.slice(0, limit);
    const votes = await this.repository.votesOf(page.map((r) => r.id));
    const result: ApprovalListDto = {
      approvals: page.map((r) => mapApproval(r, votes.get(r.id) ?? [])),
    };
    if (rows.length > limit) {
      const last = page[page.length - 1];
      result.next_page_token = encodeCursor({ at: Number(last.requested_at), id: last.id });
    }
    return result;
  }

  /** Withdraws a pending request: the requester or an admin. */
  async cancel(
    caller: Caller,
    id: string,
    comment: string | undefined,
  ): Promise<ApprovalDecisionResultDto> {
    const row = await this.decisions.require(caller.tenant, id);
    if (
      !samePrincipal(requesterOf(row), caller.principal) &&
      !hasPermission(caller.principal.roles, Permission.Administer)
    ) {
      throw new RegistryError(
        ErrorCode.Forbidden,
        'only the requester or an admin may cancel a request',
      );
    }
    const decided = await this.decisions.close(
      row,
      ApprovalStatus.Cancelled,
      caller.principal,
      comment ?? null,
      HistoryEvent.ApprovalCancelled,
    );
    return {
      approval: await this.decisions.present(decided),
      version: await this.decisions.currentVersion(caller.tenant, row),
    };
  }

  /** A deleted model or version takes its pending requests with it. */
  onModuleInit(): void {
    this.events.on('model.deleted', (e) =>
      this.cancelPendingFor(e.actor, e.model, e.modelUid, e.version, e.reason),
    );
  }

  /** Cancels the pending requests of a model (or one version) that is being deleted. */
  private async cancelPendingFor(
    caller: Caller,
    model: string,
    uid: string,
    version: number | undefined,
    reason: string,
  ): Promise<void> {
    for (const row of await this.repository.pendingForModel(caller.tenant, model, version)) {
      if (row.model_uid !== uid) continue;
      try {
        await this.decisions.close(
          row,
          ApprovalStatus.Cancelled,
          caller.principal,
          reason,
          HistoryEvent.ApprovalCancelled,
        );
      } catch (err) {
        if (!isRegistryError(err, ErrorCode.ApprovalNotPending)) throw err;
      }
    }
  }

  /**
   * 409 naming the pending request when the version has one: the request's own state comes
   * before its rules (422). The unique index refuses the race this read cannot see.
   */
  private async refuseSecondRequest(tenant: string, name: string, version: number): Promise<void> {
    const existing = await this.repository.findPending(tenant, name, version);
    if (existing !== undefined) throw alreadyPending(name, version, existing.id);
  }

  private async open(caller: Caller, o: Opening): Promise<ApprovalDto> {
    const { tenant } = caller;
    const artifactSha256 = await this.integrity.recordedDigest(tenant, o.artifactId);
    const now = Date.now();
    let row: ApprovalRow;
    try {
      row = await this.database.transaction(async (trx) => {
        const opened = await this.repository.open(
          {
            tenant,
            model: o.name,
            modelUid: o.uid,
            version: o.version,
            targetStage: o.target,
            archiveExisting: o.archiveExisting,
            requestedBy: caller.principal,
            at: now,
            comment: o.comment,
            terms: o.terms,
            artifactSha256,
            targetAlias: o.alias ?? null,
          },
          trx,
        );
        await this.history.append(
          [
            approvalEntry(
              opened,
              HistoryEvent.ApprovalRequested,
              caller.principal,
              now,
              opened.request_comment,
            ),
          ],
          trx,
        );
        await EventOutbox.record(trx, [
          approvalEvent('approval.requested', tenant, mapApproval(opened, [])),
        ]);
        return opened;
      });
    } catch (err) {
      if (!isUniqueViolation(err)) throw err;
      const existing = await this.repository.findPending(tenant, o.name, o.version, o.alias);
      throw alreadyPending(o.name, o.version, existing?.id ?? 'unknown');
    }
    return mapApproval(row, []);
  }
}

function artifactIdOf(record: ModelVersionRecord): string | null {
  return mapVersion(record, null).artifact_id;
}

function alreadyPending(name: string, version: number, id: string): RegistryError {
  return new RegistryError(
    ErrorCode.ApprovalAlreadyPending,
    `version ${version} of '${name}' already has a pending approval request: ${id}`,
    { approval_id: id === 'unknown' ? null : id },
  );
}
