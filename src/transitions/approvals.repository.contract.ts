import { randomUUID } from 'node:crypto';
import type { Database } from '../database/database';
import { isUniqueViolation } from '../database/unique-violation';
import { ApprovalsRepository } from './approvals.repository';
import { ApprovalStatus, ApplyState } from '../database/schema';
import { Stage } from '../mlflow/registry-types';

export interface TwoConnections {
  one: Database;
  two: Database;
  teardown(): Promise<void>;
}

/**
 * Two Database objects on one database are two connections, as two service replicas sharing a
 * database would be: nothing in process memory is shared between them. Every race here must be
 * decided by the database, on SQLite and on PostgreSQL alike.
 */
export function describeApprovalsAcrossConnections(
  label: string,
  open: () => Promise<TwoConnections>,
): void {
  describe(`ApprovalsRepository across two connections (${label})`, () => {
    let subject: TwoConnections;
    let one: Database;
    let two: Database;
    let repoOne: ApprovalsRepository;
    let repoTwo: ApprovalsRepository;

    beforeAll(async () => {
      subject = await open();
      ({ one, two } = subject);
      repoOne = new ApprovalsRepository(one);
      repoTwo = new ApprovalsRepository(two);
    });

    afterAll(async () => {
      await subject.teardown();
    });

    const pending = (version: number) => ({
      id: randomUUID(),
      tenant_id: 'acme',
      model_name: 'churn',
      model_uid: 'u1',
      version,
      target_stage: Stage.Production,
      archive_existing_versions: 1,
      status: ApprovalStatus.Pending,
      requested_by: 'alice',
      requested_by_tenant: 'acme',
      requested_at: Date.now(),
      request_comment: null,
      decided_by: null,
      decided_at: null,
      decision_comment: null,
      apply_state: ApplyState.None,
      applied_at: null,
      apply_attempts: 0,
      last_apply_error: null,
    });

    /** An approved request waiting to be applied. */
    const approved = async (version: number) => {
      const row = pending(version);
      await one.db.insertInto('approvals').values(row).execute();
      await repoOne.decide(row.id, ApprovalStatus.Approved, {
        by: { tenantId: 'acme', subject: 'bob' },
        at: Date.now(),
        comment: null,
      });
      return row.id;
    };

    it('lets exactly one of many racing decisions win, whichever connection makes it', async () => {
      for (let round = 0; round < 20; round++) {
        const row = pending(1000 + round);
        await one.db.insertInto('approvals').values(row).execute();
        const attempts = Array.from({ length: 8 }, (_, i) =>
          (i % 2 === 0 ? repoOne : repoTwo).decide(
            row.id,
            i % 3 === 0 ? ApprovalStatus.Rejected : ApprovalStatus.Approved,
            { by: { tenantId: 'acme', subject: `approver-${i}` }, at: Date.now(), comment: null },
          ),
        );
        const wins = (await Promise.all(attempts)).filter(Boolean);
        expect(wins).toHaveLength(1);
        const final = await repoTwo.find('acme', row.id);
        expect(final?.status).not.toBe(ApprovalStatus.Pending);
      }
    });

    it('allows one pending request per version, enforced by the database', async () => {
      const results = await Promise.allSettled([
        one.db.insertInto('approvals').values(pending(7)).execute(),
        two.db.insertInto('approvals').values(pending(7)).execute(),
      ]);
      const failed = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
      expect(failed).toHaveLength(1);
      expect(isUniqueViolation(failed[0].reason)).toBe(true);
      // once decided, a new request for that version is allowed again
      const [first] = await one.db
        .selectFrom('approvals')
        .select('id')
        .where('version', '=', 7)
        .execute();
      await repoOne.decide(first.id, ApprovalStatus.Cancelled, {
        by: { tenantId: 'acme', subject: 'alice' },
        at: Date.now(),
        comment: null,
      });
      await expect(
        two.db.insertInto('approvals').values(pending(7)).execute(),
      ).resolves.toBeDefined();
    });

    it('records the decider with their own tenant, beside the requester with theirs', async () => {
      const row = pending(40);
      await one.db.insertInto('approvals').values(row).execute();
      // An admin of another tenant whose sub is the requester's: another person.
      const by = { tenantId: 'globex', subject: 'alice' };
      expect(
        await repoTwo.decide(row.id, ApprovalStatus.Approved, { by, at: 1, comment: null }),
      ).toBe(true);
      expect(await repoOne.find('acme', row.id)).toMatchObject({
        requested_by: 'alice',
        requested_by_tenant: 'acme',
        decided_by: 'alice',
        decided_by_tenant: 'globex',
      });
    });

    it('marks an approved request applied once', async () => {
      const id = await approved(50);
      expect((await repoTwo.unapplied(100, Date.now() + 1000)).map((r) => r.id)).toContain(id);
      const marks = await Promise.all([
        repoOne.markApplied(id, Date.now()),
        repoTwo.markApplied(id, Date.now()),
      ]);
      expect(marks.filter(Boolean)).toHaveLength(1);
      expect((await repoTwo.unapplied(100, Date.now() + 1000)).map((r) => r.id)).not.toContain(id);
    });

    it('gives the claim to apply an approval to exactly one of many racing claimants', async () => {
      for (let round = 0; round < 10; round++) {
        const id = await approved(2000 + round);
        const now = Date.now();
        const claims = await Promise.all(
          Array.from({ length: 8 }, (_, i) =>
            (i % 2 === 0 ? repoOne : repoTwo).claimApply(id, `owner-${i}`, now, 60_000),
          ),
        );
        expect(claims.filter(Boolean)).toHaveLength(1);
        // a running claim hides the approval from the retry loops ...
        expect((await repoTwo.unapplied(100, now + 1000)).map((r) => r.id)).not.toContain(id);
        // ... until it is given up; only its holder can give it up
        const holder = `owner-${claims.indexOf(true)}`;
        await repoTwo.releaseApply(id, 'someone-else');
        expect(await repoOne.claimApply(id, 'late', Date.now(), 60_000)).toBe(false);
        await repoTwo.releaseApply(id, holder);
        expect((await repoOne.unapplied(100, now + 1000)).map((r) => r.id)).toContain(id);
        expect(await repoOne.claimApply(id, 'next', Date.now(), 60_000)).toBe(true);
      }
    });

    it('lets a claim whose holder died expire, and never claims what is applied or not approved', async () => {
      const id = await approved(3000);
      const t0 = Date.now();
      expect(await repoOne.claimApply(id, 'crashed', t0, 1_000)).toBe(true);
      expect(await repoTwo.claimApply(id, 'other', t0 + 500, 1_000)).toBe(false);
      expect(await repoTwo.claimApply(id, 'other', t0 + 1_001, 1_000)).toBe(true);
      expect(await repoOne.markApplied(id, Date.now())).toBe(true);
      const row = await repoOne.find('acme', id);
      expect(row).toMatchObject({ apply_lease_owner: null, apply_lease_until: null });
      expect(await repoOne.claimApply(id, 'again', t0 + 10_000_000, 1_000)).toBe(false);

      const undecided = pending(3001);
      await one.db.insertInto('approvals').values(undecided).execute();
      expect(await repoTwo.claimApply(undecided.id, 'eager', Date.now(), 1_000)).toBe(false);
    });
  });
}
