/**
 * Transitions, approvals and deletions, one failure branch at a time, at the service level:
 * the real modules on a temporary SQLite and the embedded backend, one backend call made to
 * fail per test; the background loops run when a test calls them.
 */
import { ArtifactsService } from '../../src/artifacts/artifacts.service';
import { IntentReconciler } from '../../src/audit/intent-reconciler';
import { ApplyState, ApprovalStatus } from '../../src/database/schema';
import type { Caller } from '../../src/common/auth/caller.decorator';
import { Role } from '../../src/common/auth/roles';
import { ErrorCode } from '../../src/common/errors/error-code';
import { Stage } from '../../src/mlflow/registry-types';
import { ModelDeletion } from '../../src/registry/deletion/model-deletion.service';
import { RegisterModelVersion } from '../../src/registry/registration/register-model-version.usecase';
import { ObjectStorage } from '../../src/storage/object-storage';
import { ApprovalApplier } from '../../src/transitions/approval-applier';
import { ApprovalsService } from '../../src/transitions/approvals.service';
import { TransitionsService } from '../../src/transitions/transitions.service';
import { callerOf, Medium, medium, uploadRequest } from '../support/medium';

describe('transitions, approvals and deletions (medium)', () => {
  let m: Medium;
  let registration: RegisterModelVersion;
  let transitions: TransitionsService;
  let reconciler: IntentReconciler;
  let deletion: ModelDeletion;
  let approvals: ApprovalsService;
  let applier: ApprovalApplier;
  const alice: Caller = callerOf('alice', [Role.Editor]);
  const bob: Caller = callerOf('bob', [Role.Approver]);
  const root: Caller = callerOf('root', [Role.Admin]);
  const tenant = alice.tenant;
  let names = 0;

  beforeAll(async () => {
    m = await medium();
    registration = m.get(RegisterModelVersion);
    transitions = m.get(TransitionsService);
    reconciler = m.get(IntentReconciler);
    deletion = m.get(ModelDeletion);
    approvals = m.get(ApprovalsService);
    applier = m.get(ApprovalApplier);
  });
  afterEach(() => m.registry.clear());
  afterAll(() => m.close());

  /** A new model with `count` versions; returns its name. */
  async function model(count = 1): Promise<string> {
    const name = `life-${++names}`;
    for (let i = 0; i < count; i++) {
      const up = await m.get(ArtifactsService).upload(uploadRequest(), alice);
      await registration.execute(alice, { name, artifact_id: up.artifact_id });
    }
    return name;
  }
  const stageOf = async (name: string, version: number) =>
    (await m.registry.getModelVersion(tenant, name, version)).stage;
  const history = async (name: string, version?: number) =>
    (
      await m.database.db
        .selectFrom('history')
        .select(['event', 'from_stage', 'to_stage', 'version'])
        .where('model_name', '=', name)
        .$if(version !== undefined, (q) => q.where('version', '=', version!))
        .orderBy('id')
        .execute()
    ).map((e) => `${e.event}:${e.from_stage ?? '-'}>${e.to_stage ?? '-'}`);
  const intents = async () => m.database.db.selectFrom('transition_intents').selectAll().execute();

  describe('direct transitions', () => {
    it('a move the backend made but whose call failed is recorded once, by the reconciler', async () => {
      const name = await model();
      m.registry.fail('transitionModelVersionStage', { when: 'after' });
      await expect(
        transitions.transition(alice, name, 1, { stage: Stage.Staging }),
      ).rejects.toMatchObject({ code: ErrorCode.BackendUnavailable });
      expect(await stageOf(name, 1)).toBe(Stage.Staging);
      expect(await history(name)).toEqual(['registered:->none']);
      expect(await intents()).toHaveLength(1);
      await reconciler.reconcileIntents();
      await reconciler.reconcileIntents();
      expect(await history(name)).toEqual(['registered:->none', 'transition:none>staging']);
      expect(await intents()).toHaveLength(0);
    });

    it('a move the backend never made leaves nothing recorded once reconciled', async () => {
      const name = await model();
      m.registry.fail('transitionModelVersionStage', { when: 'before' });
      await expect(
        transitions.transition(alice, name, 1, { stage: Stage.Staging }),
      ).rejects.toThrow();
      await reconciler.reconcileIntents();
      expect(await stageOf(name, 1)).toBe(Stage.None);
      expect(await history(name)).toEqual(['registered:->none']);
      expect(await intents()).toHaveLength(0);
    });

    it('an intent the reconciler cannot settle yet (backend down) stays for the next round', async () => {
      const name = await model();
      m.registry.fail('transitionModelVersionStage', { when: 'after' });
      await expect(
        transitions.transition(alice, name, 1, { stage: Stage.Archived }),
      ).rejects.toThrow();
      m.registry.fail('getModelVersion');
      await reconciler.reconcileIntents();
      expect(await intents()).toHaveLength(1);
      await reconciler.reconcileIntents();
      expect(await intents()).toHaveLength(0);
      expect(await history(name)).toContain('transition:none>archived');
    });
  });

  describe('approvals', () => {
    const requestProduction = async (name: string, version = 1) =>
      (await approvals.request(alice, name, version, { stage: Stage.Production })).id;

    it('approved while the backend is down: the decision stands, applied once when it is back', async () => {
      const name = await model();
      const id = await requestProduction(name);
      m.registry.fail('transitionModelVersionStage', { times: 1 });
      const result = await approvals.approve(bob, id, 'ok');
      expect(result.approval).toMatchObject({
        status: ApprovalStatus.Approved,
        apply_state: ApplyState.Pending,
      });
      expect(result.version).toBeNull();
      expect(await stageOf(name, 1)).toBe(Stage.None);
      await applier.retryUnapplied();
      await applier.retryUnapplied();
      expect(await stageOf(name, 1)).toBe(Stage.Production);
      expect((await approvals.get(tenant, id)).apply_state).toBe(ApplyState.Applied);
      expect((await history(name)).filter((e) => e === 'transition:none>production')).toHaveLength(
        1,
      );
    });

    it('a move made but not answered is found in production on retry and recorded, not moved again', async () => {
      const name = await model(2);
      const first = await requestProduction(name, 1);
      await approvals.approve(bob, first, 'first');
      const id = await requestProduction(name, 2);
      m.registry.fail('transitionModelVersionStage', { when: 'after' });
      await approvals.approve(bob, id, 'ok');
      await applier.retryUnapplied();
      expect(await stageOf(name, 2)).toBe(Stage.Production);
      expect(await stageOf(name, 1)).toBe(Stage.Archived);
      expect(await history(name, 2)).toEqual([
        'registered:->none',
        'approval_requested:->production',
        'approval_approved:->production',
        // Found there already: where it came from is no longer known, so none is claimed.
        'transition:->production',
      ]);
    });

    it('four eyes: the requester cannot decide; two racing decisions, exactly one wins', async () => {
      const name = await model();
      const id = await requestProduction(name);
      const requesterAsApprover = callerOf('alice', [Role.Approver, Role.Editor]);
      await expect(approvals.approve(requesterAsApprover, id, undefined)).rejects.toMatchObject({
        code: ErrorCode.FourEyesViolation,
      });
      const carol = callerOf('carol', [Role.Approver]);
      const outcomes = await Promise.allSettled([
        approvals.approve(bob, id, undefined),
        approvals.reject(carol, id, 'no'),
      ]);
      expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(1);
      const lost = outcomes.find((o): o is PromiseRejectedResult => o.status === 'rejected');
      expect(lost?.reason).toMatchObject({ code: ErrorCode.ApprovalNotPending });
    });

    it('an approval whose version was deleted before it could be applied is abandoned', async () => {
      const name = await model(2);
      const id = await requestProduction(name, 2);
      m.registry.fail('transitionModelVersionStage');
      await approvals.approve(bob, id, undefined);
      await m.registry.deleteModelVersion(tenant, name, 2);
      await applier.retryUnapplied();
      expect((await approvals.get(tenant, id)).apply_state).toBe(ApplyState.Abandoned);
    });
  });

  describe('deletions', () => {
    it('deleting a version cancels its pending request, removes its bytes and run, keeps its history', async () => {
      const name = await model(2);
      const id = (await approvals.request(alice, name, 2, { stage: Stage.Production })).id;
      const v2 = await m.registry.getModelVersion(tenant, name, 2);
      await deletion.deleteVersion(root, name, 2);
      expect((await approvals.get(tenant, id)).status).toBe(ApprovalStatus.Cancelled);
      expect(
        await m.get<ObjectStorage>(ObjectStorage).stat(`${tenant}/${name}/v2/model.pkl`),
      ).toBeNull();
      await expect(m.registry.getRun(tenant, v2.runId!)).rejects.toMatchObject({
        code: ErrorCode.RunNotFound,
      });
      expect(await history(name, 2)).toEqual([
        'registered:->none',
        'approval_requested:->production',
        // The deletion first (if it fails, nothing else changed), then what pointed at it.
        'deleted:none>-',
        'approval_cancelled:->production',
      ]);
      expect((await m.registry.searchModelVersions(tenant, name)).map((v) => v.version)).toEqual([
        1,
      ]);
    });

    it('a deletion the backend made but whose call failed is recorded by the reconciler', async () => {
      const name = await model(2);
      m.registry.fail('deleteRegisteredModel', { when: 'after' });
      await expect(deletion.deleteModel(root, name)).rejects.toMatchObject({
        code: ErrorCode.BackendUnavailable,
      });
      expect(await history(name)).not.toContain('deleted:none>-');
      await reconciler.reconcileIntents();
      expect((await history(name)).filter((e) => e === 'deleted:none>-')).toHaveLength(2);
      expect(await intents()).toHaveLength(0);
    });

    it('a deletion the backend refused changes nothing, and records nothing', async () => {
      const name = await model();
      m.registry.fail('deleteModelVersion', { when: 'before' });
      await expect(deletion.deleteVersion(root, name, 1)).rejects.toThrow();
      await reconciler.reconcileIntents();
      expect(await history(name)).toEqual(['registered:->none']);
      expect(await stageOf(name, 1)).toBe(Stage.None);
    });
  });
});
