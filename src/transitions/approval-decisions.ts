import { Injectable } from '@nestjs/common';
import { ApprovalRow, ApprovalsRepository } from './approvals.repository';
import { HistoryRepository } from '../audit/history.repository';
import { ApprovalKind, ApprovalStatus, HistoryEvent } from '../database/schema';
import type { Caller } from '../common/auth/caller.decorator';
import type { PrincipalId } from '../common/auth/principal';
import { Role } from '../common/auth/roles';
import { ErrorCode } from '../common/errors/error-code';
import { isRegistryError, RegistryError } from '../common/errors/registry-error';
import { isUniqueViolation } from '../database/unique-violation';
import { VersionsService } from '../versions/versions.service';
import { ApprovalApplier } from './approval-applier';
import { mapApproval } from './approval.mapper';
import type { ApprovalDecisionResultDto, ApprovalDto } from './dto/approval.dto';
import { requesterOf, samePrincipal } from './principals';
import { Database } from '../database/database';
import { gatesFailed, noRules, PromotionRules } from '../policies/promotion-rules';
import { allPassed } from '../policies/gates';
import type { EvaluationRules } from '../policies/policy';
import { Stage } from '../mlflow/registry-types';
import { DECIDING_ROLES } from '../policies/policy';
import { approvalEntry, systemActor } from './approval-entries';
import { approvalEventIn } from './approval-events';
import { EventOutbox } from '../events';

/** The caller's roles that may decide at all (approver, admin). */
export function decidingRoles(caller: Caller): Role[] {
  return DECIDING_ROLES.filter((r) => caller.principal.roles.includes(r));
}

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

/** The actor an expiry is recorded under. */
export const EXPIRY_ACTOR = 'policy:expiry';

type Closing = ApprovalStatus.Rejected | ApprovalStatus.Cancelled;

/**
 * Votes and decisions on approval requests. Each approve is one vote (a row whose key counts a
 * person once); the request is approved, and applied, when the votes reach its
 * required_approvals, a count the database keeps (see ApprovalsRepository.castVote). One reject
 * by an eligible approver ends it. Every vote re-evaluates the request's rules first.
 */
@Injectable()
export class ApprovalDecisions {
  constructor(
    private readonly repository: ApprovalsRepository,
    private readonly database: Database,
    private readonly history: HistoryRepository,
    private readonly versions: VersionsService,
    private readonly applier: ApprovalApplier,
    private readonly rules: PromotionRules,
  ) {}

  /** One vote for the request; applies the transition when it completes the quorum. */
  async approve(
    caller: Caller,
    id: string,
    comment: string | undefined,
  ): Promise<ApprovalDecisionResultDto> {
    const row = await this.pendingForVote(caller, id, 'approve');
    const votes = await this.repository.votesOf([row.id]);
    const mine = (votes.get(row.id) ?? []).some((v) =>
      samePrincipal({ tenantId: v.voter_tenant, subject: v.voter }, caller.principal),
    );
    if (mine) throw alreadyApproved(row);
    await this.checkRules(row);
    const at = Date.now();
    const by = caller.principal;
    const vote = { by, at, comment: comment ?? null };
    let outcome;
    try {
      outcome = await this.database.transaction(async (trx) => {
        const counted = await this.repository.castVote(row, vote, trx);
        // No longer pending (another vote completed the quorum, or a decision): the vote row
        // goes with the rolled-back transaction, so it is never counted.
        if (!counted.counted) throw new VoteTooLate();
        const event = counted.approved
          ? HistoryEvent.ApprovalApproved
          : HistoryEvent.ApprovalVoteAdded;
        const note = counted.approved
          ? vote.comment
          : `vote ${counted.votes} of ${counted.required}${vote.comment ? `: ${vote.comment}` : ''}`;
        await this.history.append([approvalEntry(row, event, by, at, note)], trx);
        await EventOutbox.record(trx, [
          await approvalEventIn(
            this.repository,
            trx,
            counted.approved ? 'approval.approved' : 'approval.vote_added',
            row.tenant_id,
            row.id,
            counted.approved
              ? {}
              : {
                  vote: {
                    by: by.subject,
                    by_tenant: by.tenantId,
                    at: new Date(at).toISOString(),
                    comment: vote.comment,
                  },
                },
          ),
        ]);
        return counted;
      });
    } catch (err) {
      if (isUniqueViolation(err)) throw alreadyApproved(row);
      if (err instanceof VoteTooLate) {
        throw notPending((await this.repository.find(row.tenant_id, row.id)) ?? row);
      }
      throw err;
    }
    const current = (await this.repository.find(row.tenant_id, row.id)) ?? row;
    if (!outcome.approved) {
      return {
        approval: await this.present(current),
        version: await this.currentVersion(caller.tenant, row),
      };
    }
    const applied = await this.applier.apply(current);
    // The decision and its effect are committed: reading the result back must not turn the
    // answer into an error the client would retry (and then get 409 for).
    const reread = await this.repository.find(caller.tenant, id).catch(() => undefined);
    const approval = await this.present(reread ?? current).catch(() => mapApproval(current, []));
    // The version as the backend answered the transition (null while it is still pending).
    return { approval, version: applied };
  }

  /** One reject by an eligible approver ends the request. */
  async reject(caller: Caller, id: string, comment: string): Promise<ApprovalDecisionResultDto> {
    const row = await this.pendingForVote(caller, id, 'reject');
    const decided = await this.close(
      row,
      ApprovalStatus.Rejected,
      caller.principal,
      comment,
      HistoryEvent.ApprovalRejected,
    );
    return {
      approval: await this.present(decided),
      version: await this.currentVersion(caller.tenant, row),
    };
  }

  /**
   * Ends a pending request (rejected or cancelled) with its history entry, one conditional
   * UPDATE: of two racing, exactly one wins; the other gets 409.
   */
  async close(
    row: ApprovalRow,
    status: Closing,
    by: PrincipalId,
    comment: string | null,
    event: HistoryEvent,
  ): Promise<ApprovalRow> {
    if (row.status !== (ApprovalStatus.Pending as string)) throw notPending(row);
    const at = Date.now();
    const won = await this.database.transaction(async (trx) => {
      if (!(await this.repository.decide(row.id, status, { by, at, comment }, trx))) return false;
      await this.history.append([approvalEntry(row, event, by, at, comment)], trx);
      const type = status === ApprovalStatus.Rejected ? 'approval.rejected' : 'approval.cancelled';
      await EventOutbox.record(trx, [
        await approvalEventIn(this.repository, trx, type, row.tenant_id, row.id),
      ]);
      return true;
    });
    const current = (await this.repository.find(row.tenant_id, row.id)) ?? row;
    if (!won) throw notPending(current);
    return current;
  }

  /** Marks a request whose time ran out as expired (once, whoever notices first). */
  async expire(row: ApprovalRow, now = Date.now()): Promise<boolean> {
    return this.database.transaction(async (trx) => {
      if (!(await this.repository.expire(row.id, now, trx))) return false;
      await this.history.append(
        [
          approvalEntry(
            row,
            HistoryEvent.ApprovalExpired,
            systemActor(row.tenant_id, EXPIRY_ACTOR),
            now,
            `expired: nobody decided by ${new Date(Number(row.expires_at)).toISOString()}`,
          ),
        ],
        trx,
      );
      await EventOutbox.record(trx, [
        await approvalEventIn(this.repository, trx, 'approval.expired', row.tenant_id, row.id),
      ]);
      return true;
    });
  }

  async require(tenant: string, id: string): Promise<ApprovalRow> {
    const row = await this.repository.find(tenant, id);
    if (!row) throw approvalNotFound(id);
    if (
      row.status === (ApprovalStatus.Pending as string) &&
      row.expires_at !== null &&
      Number(row.expires_at) <= Date.now()
    ) {
      // Its time ran out and the sweep has not seen it yet: it is expired now, for everyone.
      await this.expire(row);
      return (await this.repository.find(tenant, id)) ?? row;
    }
    return row;
  }

  async present(row: ApprovalRow): Promise<ApprovalDto> {
    const votes = await this.repository.votesOf([row.id]);
    return mapApproval(row, votes.get(row.id) ?? []);
  }

  async currentVersion(tenant: string, row: ApprovalRow) {
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

  /**
   * The request, checked for a vote: four eyes (403), the request's approver roles (403), then
   * still pending (409).
   */
  private async pendingForVote(caller: Caller, id: string, action: string): Promise<ApprovalRow> {
    const row = await this.require(caller.tenant, id);
    if (samePrincipal(requesterOf(row), caller.principal)) {
      throw new RegistryError(
        ErrorCode.FourEyesViolation,
        `the requester may not ${action} their own request (four-eyes rule); cancel it instead`,
      );
    }
    const roles = row.approver_roles === null ? null : (JSON.parse(row.approver_roles) as Role[]);
    if (roles !== null && !roles.some((r) => caller.principal.roles.includes(r))) {
      throw new RegistryError(
        ErrorCode.Forbidden,
        `this request needs a vote from one of the roles ${roles.join(', ')} (its production policy's approver_roles)`,
        { approver_roles: roles },
      );
    }
    if (row.status !== (ApprovalStatus.Pending as string)) throw notPending(row);
    return row;
  }

  /**
   * Re-evaluates the request's rules against the registry as it is now (production may have
   * moved). A failure refuses the vote with 422 and leaves the request pending; either way the
   * evaluation is recorded on the request.
   */
  private async checkRules(row: ApprovalRow): Promise<void> {
    if (row.rules === null || row.kind === (ApprovalKind.Demotion as string)) return;
    const stored = JSON.parse(row.rules) as EvaluationRules & { skip_no_regression?: boolean };
    if (noRules(stored, stored.skip_no_regression === true)) return;
    const candidate = await this.versions.get(row.tenant_id, row.model_name, row.version);
    const gates = await this.rules.atVote(
      row.tenant_id,
      candidate,
      stored,
      stored.skip_no_regression === true,
    );
    await this.repository.recordGates(row.id, JSON.stringify(gates));
    if (!allPassed(gates)) throw gatesFailed(candidate, Stage.Production, gates);
  }
}

/** Thrown inside a vote's transaction to roll it back: the request was no longer pending. */
class VoteTooLate extends Error {}

function alreadyApproved(row: ApprovalRow): RegistryError {
  return new RegistryError(
    ErrorCode.AlreadyApproved,
    `you have already approved request '${row.id}': a quorum needs distinct approvers`,
  );
}
