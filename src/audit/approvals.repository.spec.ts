import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { loadConfig } from '../config/app-config';
import { Database } from '../database/database';
import { isUniqueViolation } from '../database/unique-violation';
import { ApprovalsRepository, ApprovalStatus, ApplyState } from './approvals.repository';

/**
 * Two Database objects on one file are two connections, as two service replicas sharing a
 * database would be: nothing in process memory is shared between them.
 */
describe('ApprovalsRepository across two connections', () => {
  let dir: string;
  let one: Database;
  let two: Database;
  let repoOne: ApprovalsRepository;
  let repoTwo: ApprovalsRepository;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'approvals-race-'));
    const config = loadConfig({ DATA_DIR: dir, AUTH_JWT_SECRET: 'x'.repeat(32) });
    one = await Database.open(config);
    two = await Database.open(config);
    repoOne = new ApprovalsRepository(one);
    repoTwo = new ApprovalsRepository(two);
  });

  afterAll(async () => {
    await one.close();
    await two.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const pending = (version: number) => ({
    id: randomUUID(),
    tenant_id: 'acme',
    model_name: 'churn',
    model_uid: 'u1',
    version,
    target_stage: 'production',
    archive_existing_versions: 1,
    status: ApprovalStatus.Pending,
    requested_by: 'alice',
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

  it('lets exactly one of many racing decisions win, whichever connection makes it', async () => {
    for (let round = 0; round < 20; round++) {
      const row = pending(1000 + round);
      await one.db.insertInto('approvals').values(row).execute();
      const attempts = Array.from({ length: 8 }, (_, i) =>
        (i % 2 === 0 ? repoOne : repoTwo).decide(
          row.id,
          i % 3 === 0 ? ApprovalStatus.Rejected : ApprovalStatus.Approved,
          { by: `approver-${i}`, at: Date.now(), comment: null },
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
      by: 'alice',
      at: Date.now(),
      comment: null,
    });
    await expect(
      two.db.insertInto('approvals').values(pending(7)).execute(),
    ).resolves.toBeDefined();
  });

  it('marks an approved request applied once', async () => {
    const row = pending(50);
    await one.db.insertInto('approvals').values(row).execute();
    expect(
      await repoOne.decide(row.id, ApprovalStatus.Approved, {
        by: 'bob',
        at: Date.now(),
        comment: null,
      }),
    ).toBe(true);
    expect((await repoTwo.unapplied(100, Date.now() + 1000)).map((r) => r.id)).toContain(row.id);
    const marks = await Promise.all([
      repoOne.markApplied(row.id, Date.now()),
      repoTwo.markApplied(row.id, Date.now()),
    ]);
    expect(marks.filter(Boolean)).toHaveLength(1);
    expect((await repoTwo.unapplied(100, Date.now() + 1000)).map((r) => r.id)).not.toContain(
      row.id,
    );
  });
});
