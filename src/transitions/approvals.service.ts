import { Injectable, OnModuleInit } from '@nestjs/common';
import { ApprovalRow, ApprovalsRepository, PageCursor } from './approvals.repository';
import { HistoryEntry, HistoryRepository } from '../audit/history.repository';
import { ApprovalStatus, HistoryEvent } from '../database/schema';
import type { Caller } from '../common/auth/caller.decorator';
import type { PrincipalId } from '../common/auth/principal';
import { hasPermission, Permission } from '../common/auth/roles';
import { ErrorCode } from '../common/errors/error-code';
import { isRegistryError, RegistryError } from '../common/errors/registry-error';
import { DomainEvents } from '../common/events/domain-events';
import { isUniqueViolation } from '../database/unique-violation';
import { VersionsService } from '../versions/versions.service';
import { modelUid } from '../domain/model-identity';
import { ApprovalApplier } from './approval-applier';
import { mapApproval } from './approval.mapper';
import type { ApprovalDecisionResultDto, ApprovalDto, ApprovalListDto } from './dto/approval.dto';
import type { ListApprovalsQueryDto } from './dto/approval-queries.dto';
import type { TransitionRequestDto } from './dto/transition-request.dto';
import { requesterOf, samePrincipal } from './principals';
import { TransitionsService } from './transitions.service';
import { checkArchiveFlag } from '../domain/stage';
import { Database } from '../database/database';

function approvalNotFound(id: string): RegistryError {
  return new RegistryError(ErrorCode.ApprovalNotFound, `approval request '${id}' does not exist`);
}

function notPending(row: ApprovalRow): RegistryError {
  return new RegistryError(
    ErrorCode.ApprovalNotPending,
    `approval request '${row.id}' is no longer pending (it is ${row.status})`,
    { status: row.status },
  );
}

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

/**
 * The production approval workflow: requests, four-eyes decisions, and applying approved
 * transitions. Every status change is a conditional UPDATE, so of two racing decisions exactly
 * one wins whichever replica runs them. An approved transition that could not be applied
 * (the registry backend was down) stays `apply_state: pending` and a background retry applies it.
 */
@Injectable()
export class ApprovalsService implements OnModuleInit {
  constructor(
    private readonly repository: ApprovalsRepository,
    private readonly database: Database,
    private readonly history: HistoryRepository,
    private readonly versions: VersionsService,
    private readonly transitions: TransitionsService,
    private readonly applier: ApprovalApplier,
    private readonly events: DomainEvents,
  ) {}

  async request(
    caller: Caller,
    name: string,
    version: number,
    dto: TransitionRequestDto,
  ): Promise<ApprovalDto> {
    checkArchiveFlag(dto.stage, dto.archive_existing_versions);
    const { tenant } = caller;
    const { model } = await this.transitions.versionToMove(tenant, name, version, dto.stage);
    const uid = modelUid(model);
    const now = Date.now();
    let row: ApprovalRow;
    try {
      row = await this.database.transaction(async (trx) => {
        const opened = await this.repository.open(
          {
            tenant,
            model: name,
            modelUid: uid,
            version,
            targetStage: dto.stage,
            archiveExisting: dto.archive_existing_versions ?? true,
            requestedBy: caller.principal,
            at: now,
            comment: dto.comment ?? null,
          },
          trx,
        );
        await this.history.append(
          [
            this.entry(
              opened,
              HistoryEvent.ApprovalRequested,
              caller.principal,
              now,
              opened.request_comment,
            ),
          ],
          trx,
        );
        return opened;
      });
    } catch (err) {
      if (!isUniqueViolation(err)) throw err;
      const existing = await this.repository.findPending(tenant, name, version);
      throw new RegistryError(
        ErrorCode.ApprovalAlreadyPending,
        `version ${version} of '${name}' already has a pending approval request: ${existing?.id ?? 'unknown'}`,
        { approval_id: existing?.id ?? null },
      );
    }
    return mapApproval(row);
  }

  async get(tenant: string, id: string): Promise<ApprovalDto> {
    return mapApproval(await this.require(tenant, id));
  }

  async list(tenant: string, query: ListApprovalsQueryDto): Promise<ApprovalListDto> {
    const limit = query.max_results ?? 100;
    const rows = await this.repository.list(
      tenant,
      { status: query.status, model: query.model },
      limit + 1,
      query.page_token !== undefined ? decodeCursor(query.page_token) : undefined,
    );
    const page = rows.slice(0, limit);
    const result: ApprovalListDto = { approvals: page.map(mapApproval) };
    if (rows.length > limit) {
      const last = page[page.length - 1];
      result.next_page_token = encodeCursor({ at: Number(last.requested_at), id: last.id });
    }
    return result;
  }

  /** Approves (four eyes: never the requester) and applies the transition. */
  async approve(
    caller: Caller,
    id: string,
    comment: string | undefined,
  ): Promise<ApprovalDecisionResultDto> {
    const row = await this.require(caller.tenant, id);
    this.checkFourEyes(caller, row, 'approve');
    const decided = await this.decide(
      row,
      ApprovalStatus.Approved,
      caller,
      comment ?? null,
      HistoryEvent.ApprovalApproved,
    );
    const applied = await this.applier.apply(decided);
    // The decision and its effect are committed: reading the result back must not turn the
    // answer into an error the client would retry (and then get 409 for).
    const reread = await this.repository.find(caller.tenant, id).catch(() => undefined);
    const approval = mapApproval(reread ?? decided);
    // The version as the backend answered the transition (no need to read it back).
    const version =
      applied !== null ? await this.versions.toDto(caller.tenant, applied).catch(() => null) : null;
    return { approval, version };
  }

  async reject(caller: Caller, id: string, comment: string): Promise<ApprovalDecisionResultDto> {
    const row = await this.require(caller.tenant, id);
    this.checkFourEyes(caller, row, 'reject');
    const decided = await this.decide(
      row,
      ApprovalStatus.Rejected,
      caller,
      comment,
      HistoryEvent.ApprovalRejected,
    );
    return {
      approval: mapApproval(decided),
      version: await this.currentVersion(caller.tenant, row),
    };
  }

  /** Withdraws a pending request: the requester or an admin. */
  async cancel(
    caller: Caller,
    id: string,
    comment: string | undefined,
  ): Promise<ApprovalDecisionResultDto> {
    const row = await this.require(caller.tenant, id);
    if (
      !samePrincipal(requesterOf(row), caller.principal) &&
      !hasPermission(caller.principal.roles, Permission.Administer)
    ) {
      throw new RegistryError(
        ErrorCode.Forbidden,
        'only the requester or an admin may cancel a request',
      );
    }
    const decided = await this.decide(
      row,
      ApprovalStatus.Cancelled,
      caller,
      comment ?? null,
      HistoryEvent.ApprovalCancelled,
    );
    return {
      approval: mapApproval(decided),
      version: await this.currentVersion(caller.tenant, row),
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
        await this.decide(
          row,
          ApprovalStatus.Cancelled,
          caller,
          reason,
          HistoryEvent.ApprovalCancelled,
        );
      } catch (err) {
        if (!isRegistryError(err, ErrorCode.ApprovalNotPending)) throw err;
      }
    }
  }

  private async decide(
    row: ApprovalRow,
    status: ApprovalStatus.Approved | ApprovalStatus.Rejected | ApprovalStatus.Cancelled,
    caller: Caller,
    comment: string | null,
    event: HistoryEvent,
  ): Promise<ApprovalRow> {
    if (row.status !== (ApprovalStatus.Pending as string)) throw notPending(row);
    const at = Date.now();
    const by = caller.principal;
    const won = await this.database.transaction(async (trx) => {
      if (!(await this.repository.decide(row.id, status, { by, at, comment }, trx))) return false;
      await this.history.append([this.entry(row, event, by, at, comment)], trx);
      return true;
    });
    const current = (await this.repository.find(row.tenant_id, row.id)) ?? row;
    if (!won) throw notPending(current);
    return current;
  }

  private checkFourEyes(caller: Caller, row: ApprovalRow, action: string): void {
    if (samePrincipal(requesterOf(row), caller.principal)) {
      throw new RegistryError(
        ErrorCode.FourEyesViolation,
        `the requester may not ${action} their own request (four-eyes rule); cancel it instead`,
      );
    }
  }

  private async require(tenant: string, id: string): Promise<ApprovalRow> {
    const row = await this.repository.find(tenant, id);
    if (!row) throw approvalNotFound(id);
    return row;
  }

  private async currentVersion(tenant: string, row: ApprovalRow) {
    try {
      return await this.versions.get(tenant, row.model_name, row.version);
    } catch (err) {
      if (
        isRegistryError(err, ErrorCode.VersionNotFound) ||
        isRegistryError(err, ErrorCode.ModelNotFound)
      )
        return null;
      throw err;
    }
  }

  private entry(
    row: ApprovalRow,
    event: HistoryEvent,
    actor: PrincipalId,
    at: number,
    comment: string | null,
  ): HistoryEntry {
    const approved = event === HistoryEvent.ApprovalApproved;
    const requester = requesterOf(row);
    return {
      tenant_id: row.tenant_id,
      model_name: row.model_name,
      model_uid: row.model_uid,
      version: row.version,
      event,
      from_stage: null,
      to_stage: row.target_stage,
      actor: actor.subject,
      actor_tenant: actor.tenantId,
      at,
      comment,
      approval_id: row.id,
      requested_by: requester.subject,
      requested_by_tenant: requester.tenantId,
      approved_by: approved ? actor.subject : null,
      approved_by_tenant: approved ? actor.tenantId : null,
    };
  }
}
