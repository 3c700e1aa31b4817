import { Injectable } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import type { Selectable } from 'kysely';
import type { PrincipalId } from '../common/auth/principal';
import { Database, Db } from '../database/database';
import type { ApprovalsTable, ApprovalVotesTable } from '../database/schema';
import { ApprovalKind, ApprovalStatus, ApplyState } from '../database/schema';
import type { Stage } from '../mlflow/registry-types';
import type { Role } from '../common/auth/roles';
import type { RequestTerms } from '../policies/promotion-rules';

export type ApprovalRow = Selectable<ApprovalsTable>;
export type VoteRow = Selectable<ApprovalVotesTable>;

/** Who is asking for the requests awaiting them (`awaiting_me=true`). */
export interface AwaitingCaller {
  principal: PrincipalId;
  /** The caller's roles that may decide (approver, admin). */
  decidingRoles: Role[];
  now: number;
}

/** The result of counting one vote. */
export type VoteOutcome =
  | { counted: true; votes: number; required: number; approved: boolean }
  | { counted: false; reason: 'not_pending' };

/** What a request for a transition that needs approval says. */
export interface NewApproval {
  tenant: string;
  model: string;
  modelUid: string;
  version: number;
  targetStage: Stage;
  archiveExisting: boolean;
  requestedBy: PrincipalId;
  at: number;
  comment: string | null;
  /** What the policy in force says (kind, votes, roles, rules, expiry, evidence). */
  terms: RequestTerms;
  /** The model file's digest when the request was made (verified before a production apply). */
  artifactSha256: string | null;
  /** The protected alias it sets or moves (null: a stage request). */
  targetAlias?: string | null;
}

/** Where a page of the newest-first listing resumes. */
export interface PageCursor {
  at: number;
  id: string;
}

/** Approval requests. Every status change is a conditional UPDATE: the database decides races. */
@Injectable()
export class ApprovalsRepository {
  constructor(private readonly database: Database) {}

  get db(): Db {
    return this.database.db;
  }

  /**
   * A new pending request, written in `db` (the transaction that also records it in the
   * history): undecided, not applied. Refused by the unique index while the version has another
   * pending request (a unique violation the caller turns into 409).
   */
  async open(request: NewApproval, db: Db = this.db): Promise<ApprovalRow> {
    const row: ApprovalRow = {
      id: randomUUID(),
      tenant_id: request.tenant,
      model_name: request.model,
      model_uid: request.modelUid,
      version: request.version,
      target_stage: request.targetStage,
      archive_existing_versions: request.archiveExisting ? 1 : 0,
      status: ApprovalStatus.Pending,
      requested_by: request.requestedBy.subject,
      requested_by_tenant: request.requestedBy.tenantId,
      requested_at: request.at,
      request_comment: request.comment,
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
      kind: request.terms.kind,
      required_approvals: request.terms.required_approvals,
      vote_count: 0,
      approver_roles:
        request.terms.approver_roles === null ? null : JSON.stringify(request.terms.approver_roles),
      rules: JSON.stringify({
        ...request.terms.rules,
        skip_no_regression: request.terms.skip_no_regression,
      }),
      gates: JSON.stringify(request.terms.gates),
      expires_at: request.terms.expires_at,
      artifact_sha256: request.artifactSha256,
      apply_error_code: null,
      target_alias: request.targetAlias ?? null,
    };
    await db.insertInto('approvals').values(row).execute();
    return row;
  }

  /**
   * Counts one vote, in `db` (a transaction): the vote row's primary key refuses a second vote
   * of the same person (a unique violation: ALREADY_APPROVED), and the count is one conditional
   * UPDATE of the request's row, which the database serializes: of votes racing for the last
   * place, each is counted once and exactly one sees the count reach the quorum and approves.
   */
  async castVote(
    row: ApprovalRow,
    vote: { by: PrincipalId; at: number; comment: string | null },
    db: Db,
  ): Promise<VoteOutcome> {
    await db
      .insertInto('approval_votes')
      .values({
        approval_id: row.id,
        voter_tenant: vote.by.tenantId,
        voter: vote.by.subject,
        at: vote.at,
        comment: vote.comment,
      })
      .execute();
    const counted = await db
      .updateTable('approvals')
      .set((eb) => ({ vote_count: eb('vote_count', '+', 1) }))
      .where('id', '=', row.id)
      .where('status', '=', ApprovalStatus.Pending)
      .returning(['vote_count', 'required_approvals'])
      .executeTakeFirst();
    if (counted === undefined) return { counted: false, reason: 'not_pending' };
    const votes = Number(counted.vote_count);
    const required = Number(counted.required_approvals);
    let approved = false;
    if (votes >= required) {
      approved = await this.decide(row.id, ApprovalStatus.Approved, vote, db);
    }
    return { counted: true, votes, required, approved };
  }

  /** The votes of these requests, oldest first. */
  async votesOf(ids: readonly string[], db: Db = this.db): Promise<Map<string, VoteRow[]>> {
    const byId = new Map<string, VoteRow[]>(ids.map((id) => [id, []]));
    if (ids.length === 0) return byId;
    const rows = await db
      .selectFrom('approval_votes')
      .selectAll()
      .where('approval_id', 'in', [...ids])
      .orderBy('at')
      .orderBy('voter')
      .execute();
    for (const r of rows) byId.get(r.approval_id)?.push(r);
    return byId;
  }

  /** Records the latest evaluation of a request's rules. */
  async recordGates(id: string, gates: string, db: Db = this.db): Promise<void> {
    await db.updateTable('approvals').set({ gates }).where('id', '=', id).execute();
  }

  /**
   * Marks a pending request whose time ran out as expired; false when it was not pending or
   * not yet expired at `now`.
   */
  async expire(id: string, now: number, db: Db = this.db): Promise<boolean> {
    const result = await db
      .updateTable('approvals')
      .set({ status: ApprovalStatus.Expired, decided_at: now })
      .where('id', '=', id)
      .where('status', '=', ApprovalStatus.Pending)
      .where('expires_at', 'is not', null)
      .where('expires_at', '<=', now)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  }

  /** Pending requests whose time ran out at `now`, oldest deadline first. */
  expiredPending(now: number, limit: number): Promise<ApprovalRow[]> {
    return this.db
      .selectFrom('approvals')
      .selectAll()
      .where('status', '=', ApprovalStatus.Pending)
      .where('expires_at', 'is not', null)
      .where('expires_at', '<=', now)
      .orderBy('expires_at')
      .limit(limit)
      .execute();
  }

  /**
   * An approved transition that must never be applied (the stored model file is not the one
   * reviewed): final, not retried.
   */
  async markFailed(id: string, code: string, reason: string, db: Db = this.db): Promise<boolean> {
    const result = await db
      .updateTable('approvals')
      .set({
        apply_state: ApplyState.Failed,
        apply_error_code: code,
        last_apply_error: reason.slice(0, 1000),
        apply_lease_owner: null,
        apply_lease_until: null,
      })
      .where('id', '=', id)
      .where('apply_state', '=', ApplyState.Pending)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  }

  /** A tenant's requests, newest first, optionally filtered, resuming after `after`. */
  list(
    tenant: string,
    filter: {
      status?: ApprovalStatus;
      model?: string;
      kind?: ApprovalKind;
      requestedBy?: string;
      awaiting?: AwaitingCaller;
    },
    limit: number,
    after?: PageCursor,
  ): Promise<ApprovalRow[]> {
    let q = this.db
      .selectFrom('approvals')
      .selectAll()
      .where('tenant_id', '=', tenant)
      .orderBy('requested_at', 'desc')
      .orderBy('id', 'desc')
      .limit(limit);
    if (filter.status !== undefined) q = q.where('status', '=', filter.status);
    if (filter.model !== undefined) q = q.where('model_name', '=', filter.model);
    if (filter.kind !== undefined) q = q.where('kind', '=', filter.kind);
    if (filter.requestedBy !== undefined) q = q.where('requested_by', '=', filter.requestedBy);
    const awaiting = filter.awaiting;
    if (awaiting !== undefined) {
      const { principal: me, decidingRoles, now } = awaiting;
      if (decidingRoles.length === 0) return Promise.resolve([]);
      q = q
        .where('status', '=', ApprovalStatus.Pending)
        .where((eb) => eb.or([eb('expires_at', 'is', null), eb('expires_at', '>', now)]))
        // Never the requester's own (the requester is (requested_by_tenant, requested_by)).
        .where((eb) =>
          eb.or([
            eb('requested_by', '!=', me.subject),
            eb(eb.fn.coalesce('requested_by_tenant', 'tenant_id'), '!=', me.tenantId),
          ]),
        )
        .where((eb) =>
          eb.not(
            eb.exists(
              eb
                .selectFrom('approval_votes')
                .select('approval_votes.approval_id')
                .whereRef('approval_votes.approval_id', '=', 'approvals.id')
                .where('approval_votes.voter', '=', me.subject)
                .where('approval_votes.voter_tenant', '=', me.tenantId),
            ),
          ),
        )
        // Roles: null is whoever may decide; otherwise the JSON array names one of the caller's
        // roles (role names are plain words: matching the quoted name is exact).
        .where((eb) =>
          eb.or([
            eb('approver_roles', 'is', null),
            ...decidingRoles.map((role) => eb('approver_roles', 'like', `%"${role}"%`)),
          ]),
        );
    }
    if (after !== undefined) {
      q = q.where((eb) =>
        eb.or([
          eb('requested_at', '<', after.at),
          eb.and([eb('requested_at', '=', after.at), eb('id', '<', after.id)]),
        ]),
      );
    }
    return q.execute();
  }

  find(tenant: string, id: string, db: Db = this.db): Promise<ApprovalRow | undefined> {
    return db
      .selectFrom('approvals')
      .selectAll()
      .where('tenant_id', '=', tenant)
      .where('id', '=', id)
      .executeTakeFirst();
  }

  /** The version's pending request for a stage (`alias` undefined) or to set `alias`. */
  findPending(
    tenant: string,
    model: string,
    version: number,
    alias?: string,
    db: Db = this.db,
  ): Promise<ApprovalRow | undefined> {
    return db
      .selectFrom('approvals')
      .selectAll()
      .where('tenant_id', '=', tenant)
      .where('model_name', '=', model)
      .where('version', '=', version)
      .where('status', '=', ApprovalStatus.Pending)
      .where('target_alias', alias === undefined ? 'is' : '=', alias ?? null)
      .executeTakeFirst();
  }

  /**
   * Moves a pending request to `status`. Returns false when it was no longer pending: another
   * decision won the race, whichever process or replica made it. `by`: the decider, with their
   * own tenant (which may not be the request's).
   */
  async decide(
    id: string,
    status: ApprovalStatus.Approved | ApprovalStatus.Rejected | ApprovalStatus.Cancelled,
    decision: { by: PrincipalId; at: number; comment: string | null },
    db: Db = this.db,
  ): Promise<boolean> {
    const result = await db
      .updateTable('approvals')
      .set({
        status,
        decided_by: decision.by.subject,
        decided_by_tenant: decision.by.tenantId,
        decided_at: decision.at,
        decision_comment: decision.comment,
        apply_state: status === ApprovalStatus.Approved ? ApplyState.Pending : ApplyState.None,
      })
      .where('id', '=', id)
      .where('status', '=', ApprovalStatus.Pending)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  }

  /**
   * Claims the right to apply an approved request until `now + leaseMs`: a conditional UPDATE,
   * so of several processes (replicas, or the request path and a retry loop) exactly one holds
   * it at a time. False when the request is not waiting to be applied or another claim is
   * still running. A claim that outlives its process simply expires.
   */
  async claimApply(id: string, owner: string, now: number, leaseMs: number): Promise<boolean> {
    const result = await this.db
      .updateTable('approvals')
      .set({ apply_lease_owner: owner, apply_lease_until: now + leaseMs })
      .where('id', '=', id)
      .where('apply_state', '=', ApplyState.Pending)
      .where((eb) =>
        eb.or([eb('apply_lease_until', 'is', null), eb('apply_lease_until', '<', now)]),
      )
      .executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  }

  /** Gives a claim up (if `owner` still holds it), so the next attempt need not wait for it. */
  async releaseApply(id: string, owner: string): Promise<void> {
    await this.db
      .updateTable('approvals')
      .set({ apply_lease_owner: null, apply_lease_until: null })
      .where('id', '=', id)
      .where('apply_lease_owner', '=', owner)
      .execute();
  }

  /** Marks an approved request as applied; false when it already was (applied elsewhere). */
  async markApplied(id: string, at: number, db: Db = this.db): Promise<boolean> {
    const result = await db
      .updateTable('approvals')
      .set({
        apply_state: ApplyState.Applied,
        applied_at: at,
        last_apply_error: null,
        apply_lease_owner: null,
        apply_lease_until: null,
      })
      .where('id', '=', id)
      .where('apply_state', '=', ApplyState.Pending)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  }

  /** The version is gone: the approved transition can never be applied. */
  async markAbandoned(id: string, reason: string): Promise<void> {
    await this.db
      .updateTable('approvals')
      .set({ apply_state: ApplyState.Abandoned, last_apply_error: reason })
      .where('id', '=', id)
      .where('apply_state', '=', ApplyState.Pending)
      .execute();
  }

  async recordApplyFailure(id: string, error: string): Promise<void> {
    await this.db
      .updateTable('approvals')
      .set((eb) => ({
        apply_attempts: eb('apply_attempts', '+', 1),
        last_apply_error: error.slice(0, 1000),
      }))
      .where('id', '=', id)
      .execute();
  }

  /**
   * Approved requests whose transition is not applied yet, oldest first: those an attempt
   * already failed for, and those nobody has tried since `untouchedBefore` (a crash between
   * the decision and its application). Requests someone holds a running claim on (at `now`)
   * are left out.
   */
  unapplied(limit: number, untouchedBefore: number, now = Date.now()): Promise<ApprovalRow[]> {
    return this.db
      .selectFrom('approvals')
      .selectAll()
      .where('apply_state', '=', ApplyState.Pending)
      .where((eb) => eb.or([eb('apply_attempts', '>', 0), eb('decided_at', '<', untouchedBefore)]))
      .where((eb) =>
        eb.or([eb('apply_lease_until', 'is', null), eb('apply_lease_until', '<', now)]),
      )
      .orderBy('decided_at')
      .limit(limit)
      .execute();
  }

  pendingForModel(tenant: string, model: string, version?: number): Promise<ApprovalRow[]> {
    let q = this.db
      .selectFrom('approvals')
      .selectAll()
      .where('tenant_id', '=', tenant)
      .where('model_name', '=', model)
      .where('status', '=', ApprovalStatus.Pending);
    if (version !== undefined) q = q.where('version', '=', version);
    return q.execute();
  }

  /**
   * How many requests each tenant has waiting for a decision (`undecided`) or decided and
   * waiting for their transition to be applied (`unapplied`); tenants with none are left out.
   * Each is one indexed count (approvals_tenant_status, approvals_apply_state).
   */
  async countWaiting(
    kind: 'undecided' | 'unapplied',
  ): Promise<{ tenant: string; count: number }[]> {
    const rows = await this.db
      .selectFrom('approvals')
      .select((eb) => ['tenant_id', eb.fn.countAll<number | string>().as('count')])
      .$call((q) =>
        kind === 'undecided'
          ? q.where('status', '=', ApprovalStatus.Pending)
          : q.where('apply_state', '=', ApplyState.Pending),
      )
      .groupBy('tenant_id')
      .execute();
    return rows.map((r) => ({ tenant: r.tenant_id, count: Number(r.count) }));
  }
}
