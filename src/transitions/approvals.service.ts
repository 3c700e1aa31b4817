import {
  Injectable,
  Logger,
  OnApplicationBootstrap,
  OnApplicationShutdown,
  OnModuleInit,
} from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import {
  ApplyState,
  ApprovalRow,
  ApprovalsRepository,
  ApprovalStatus,
  PageCursor,
} from '../audit/approvals.repository';
import { HistoryEntry, HistoryEvent, HistoryRepository } from '../audit/history.repository';
import type { Caller } from '../common/auth/caller.decorator';
import type { PrincipalId } from '../common/auth/principal';
import { hasPermission, Permission } from '../common/auth/roles';
import { ErrorCode } from '../common/errors/error-code';
import { isRegistryError, RegistryError } from '../common/errors/registry-error';
import { DomainEvents } from '../common/events/domain-events';
import { AppConfig } from '../config/app-config';
import { isUniqueViolation } from '../database/unique-violation';
import { MlflowRegistry } from '../mlflow/mlflow-registry';
import { ModelVersionRecord, RegisteredModelRecord, Stage } from '../mlflow/registry-types';
import { modelUid, VersionsService } from '../versions/versions.service';
import { mapApproval } from './approval.mapper';
import type { ApprovalDecisionResultDto, ApprovalDto, ApprovalListDto } from './dto/approval.dto';
import type { ListApprovalsQueryDto } from './dto/approval-queries.dto';
import type { TransitionRequestDto } from './dto/transition-request.dto';
import { deciderOf, requesterOf, samePrincipal } from './principals';
import { checkArchiveFlag, TransitionsService } from './transitions.service';

/** How long an approval nobody has tried to apply yet is left to the request that approved it. */
const UNTOUCHED_GRACE_MS = 30_000;

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
export class ApprovalsService
  implements OnModuleInit, OnApplicationBootstrap, OnApplicationShutdown
{
  private readonly logger = new Logger(ApprovalsService.name);
  /**
   * Names this process in the apply claims it takes (see applyApproved): the claim lives in the
   * database, so the request path, this process's retry loop and every other replica's see it.
   */
  private readonly instance = `${hostname()}/${process.pid}/${randomUUID().slice(0, 8)}`;
  private timer?: NodeJS.Timeout;
  private retrying = false;

  constructor(
    private readonly repository: ApprovalsRepository,
    private readonly history: HistoryRepository,
    private readonly registry: MlflowRegistry,
    private readonly versions: VersionsService,
    private readonly transitions: TransitionsService,
    private readonly config: AppConfig,
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
    const row: ApprovalRow = {
      id: randomUUID(),
      tenant_id: tenant,
      model_name: name,
      model_uid: uid,
      version,
      target_stage: dto.stage,
      archive_existing_versions: (dto.archive_existing_versions ?? true) ? 1 : 0,
      status: ApprovalStatus.Pending,
      requested_by: caller.principal.subject,
      requested_by_tenant: caller.principal.tenantId,
      requested_at: now,
      request_comment: dto.comment ?? null,
      decided_by: null,
      decided_by_tenant: null,
      decided_at: null,
      decision_comment: null,
      apply_state: ApplyState.None,
      applied_at: null,
      apply_attempts: 0,
      last_apply_error: null,
      apply_lease_owner: null,
      apply_lease_until: null,
    };
    try {
      await this.repository.db.transaction().execute(async (trx) => {
        await this.repository.insert(row, trx);
        await this.history.append(
          [
            this.entry(
              row,
              HistoryEvent.ApprovalRequested,
              caller.principal,
              now,
              row.request_comment,
            ),
          ],
          trx,
        );
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
    const applied = await this.applyApproved(decided);
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

  onApplicationBootstrap(): void {
    this.timer = setInterval(() => this.tick(), this.config.approvalRetryIntervalMs);
    this.timer.unref();
    this.tick();
  }

  /** One round of the retry loop; a round still running (a slow backend) is not doubled. */
  private tick(): void {
    if (this.retrying) return;
    this.retrying = true;
    void this.retryUnapplied().finally(() => {
      this.retrying = false;
    });
  }

  onApplicationShutdown(): void {
    if (this.timer) clearInterval(this.timer);
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
    for (const row of rows) await this.applyApproved(row);
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
   * Returns the moved version as the backend answered, or null when it was not applied.
   */
  private async applyApproved(row: ApprovalRow): Promise<ModelVersionRecord | null> {
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
      const approver = deciderOf(row);
      const audit = {
        tenant,
        modelUid: row.model_uid,
        actor: approver ?? { tenantId: tenant, subject: 'unknown' },
        comment: row.decision_comment ?? row.request_comment,
        approvalId: row.id,
        requestedBy: requesterOf(row),
        approvedBy: approver,
      };
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
      await this.repository.db.transaction().execute(async (trx) => {
        if (await this.repository.markApplied(row.id, Date.now(), trx))
          await this.history.append(entries, trx);
      });
      return moved;
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
   * The version an approval is for, with its model (read together), or null when it (or its
   * model incarnation) is gone.
   */
  private async versionStillThere(
    row: ApprovalRow,
  ): Promise<{ version: ModelVersionRecord; model: RegisteredModelRecord } | null> {
    try {
      const found = await this.registry.getModelVersionWithModel(
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
    const won = await this.repository.db.transaction().execute(async (trx) => {
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
