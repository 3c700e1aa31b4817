import { randomUUID } from 'node:crypto';
import { ErrorCode } from '../common/errors/error-code';
import { RegistryError } from '../common/errors/registry-error';
import { MlflowRegistry } from './mlflow-registry';
import { describeAliasesContract } from './mlflow-registry-aliases.contract';
import type { ModelOrder } from './model-search';
import { Stage } from './registry-types';

export interface RegistryUnderTest {
  registry: MlflowRegistry;
  teardown(): Promise<void>;
}

async function expectCode(promise: Promise<unknown>, code: ErrorCode): Promise<void> {
  const err: unknown = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(RegistryError);
  expect((err as RegistryError).code).toBe(code);
}

/**
 * The behaviour every implementation of the MLflow port must show: MLflow's semantics for
 * names, version numbers, stages and `archive_existing_versions`, and tenants that never see
 * each other. Names are unique per run so the suite can run against a shared real server.
 */
export function describeMlflowRegistryContract(
  implementation: string,
  setup: () => Promise<RegistryUnderTest>,
): void {
  describe(`MlflowRegistry contract: ${implementation}`, () => {
    let subject: RegistryUnderTest;
    let registry: MlflowRegistry;
    const run = randomUUID().slice(0, 8);
    const tenant = `t-${run}`;
    const otherTenant = `o-${run}`;
    let counter = 0;
    const unique = (base: string): string => `${base}-${run}-${++counter}`;

    beforeAll(async () => {
      subject = await setup();
      registry = subject.registry;
    });

    afterAll(async () => {
      await subject.teardown();
    });

    const newModel = async (tags: Record<string, string> = {}) => {
      const name = unique('model');
      await registry.createRegisteredModel(tenant, { name, description: 'desc', tags });
      return name;
    };

    /** version → stage, for every version of a model. */
    const stagesOf = async (name: string) =>
      Object.fromEntries(
        (await registry.searchModelVersions(tenant, name)).map((v) => [v.version, v.stage]),
      );

    const newVersion = (
      name: string,
      extra: { runId?: string; tags?: Record<string, string> } = {},
    ) =>
      registry.createModelVersion(tenant, name, {
        source: `s3://contract-bucket/${name}/model.pkl`,
        ...extra,
      });

    describe('registered models', () => {
      it('creates a model and reads it back', async () => {
        const before = Date.now();
        const name = unique('churn');
        const created = await registry.createRegisteredModel(tenant, {
          name,
          description: 'XGBoost churn',
          tags: { team: 'ml', 'registry.model_uid': 'u-1' },
        });
        expect(created).toMatchObject({
          name,
          description: 'XGBoost churn',
          tags: { team: 'ml', 'registry.model_uid': 'u-1' },
          latestVersions: [],
        });
        expect(created.createdAt).toBeGreaterThanOrEqual(before - 1000);
        expect(await registry.getRegisteredModel(tenant, name)).toEqual(created);
      });

      it('refuses a second model of the same name in one tenant', async () => {
        const name = await newModel();
        await expectCode(
          registry.createRegisteredModel(tenant, { name }),
          ErrorCode.ModelAlreadyExists,
        );
      });

      it('keeps tenants apart: same name in two tenants, and no access across', async () => {
        const name = await newModel();
        await expectCode(registry.getRegisteredModel(otherTenant, name), ErrorCode.ModelNotFound);
        await expectCode(
          registry.createModelVersion(otherTenant, name, { source: 'x' }),
          ErrorCode.ModelNotFound,
        );
        await expectCode(
          registry.deleteRegisteredModel(otherTenant, name),
          ErrorCode.ModelNotFound,
        );
        await registry.createRegisteredModel(otherTenant, { name, description: 'theirs' });
        expect((await registry.getRegisteredModel(tenant, name)).description).toBe('desc');
        expect((await registry.getRegisteredModel(otherTenant, name)).description).toBe('theirs');
        await registry.deleteRegisteredModel(otherTenant, name);
        expect((await registry.getRegisteredModel(tenant, name)).description).toBe('desc');
      });

      it('answers MODEL_NOT_FOUND for a name that does not exist', async () => {
        await expectCode(
          registry.getRegisteredModel(tenant, unique('missing')),
          ErrorCode.ModelNotFound,
        );
      });

      it('updates the description and sets and removes tags', async () => {
        const name = await newModel({ keep: 'yes', drop: 'me' });
        const updated = await registry.updateRegisteredModel(tenant, name, {
          description: 'new words',
        });
        expect(updated.description).toBe('new words');
        await registry.setRegisteredModelTag(tenant, name, 'added', 'v');
        await registry.setRegisteredModelTag(tenant, name, 'keep', 'changed');
        await registry.deleteRegisteredModelTag(tenant, name, 'drop');
        expect((await registry.getRegisteredModel(tenant, name)).tags).toEqual({
          keep: 'changed',
          added: 'v',
        });
      });

      it('pages through one tenant’s models by name, never showing another tenant’s', async () => {
        const pagingTenant = `p-${run}`;
        const names = ['a', 'b', 'c', 'd', 'e'].map((x) => `${x}-${run}`);
        for (const name of [...names].reverse())
          await registry.createRegisteredModel(pagingTenant, { name });
        await registry.createRegisteredModel(`${pagingTenant}x`, { name: `b0-${run}` });
        const seen: string[] = [];
        let token: string | undefined;
        let pages = 0;
        do {
          const page = await registry.searchRegisteredModels(pagingTenant, {
            maxResults: 2,
            pageToken: token,
          });
          expect(page.items.length).toBeLessThanOrEqual(2);
          seen.push(...page.items.map((m) => m.name));
          token = page.nextPageToken;
          pages++;
        } while (token !== undefined && pages < 10);
        expect(seen).toEqual(names);
        expect(pages).toBe(3);
      });

      it('lists each model with its own tags, none for a model without', async () => {
        const tagTenant = `tg-${run}`;
        const tagged: Record<string, Record<string, string>> = {
          [`a-${run}`]: { team: 'ml', note: 'say "hi" \\ ünïcode ✓' },
          [`b-${run}`]: {},
          [`c-${run}`]: { team: 'risk', 'registry.model_uid': 'u-c' },
        };
        for (const [name, tags] of Object.entries(tagged))
          await registry.createRegisteredModel(tagTenant, { name, tags });
        const page = await registry.searchRegisteredModels(tagTenant, { maxResults: 10 });
        expect(Object.fromEntries(page.items.map((m) => [m.name, m.tags]))).toEqual(tagged);
        for (const [name, tags] of Object.entries(tagged))
          expect((await registry.getRegisteredModel(tagTenant, name)).tags).toEqual(tags);
      });

      it('rejects a page token it did not issue', async () => {
        await expectCode(
          registry.searchRegisteredModels(tenant, { maxResults: 10, pageToken: 'not-a-token' }),
          ErrorCode.ValidationFailed,
        );
      });

      it('deletes a model with its versions; a new model of that name starts again at 1', async () => {
        const name = await newModel();
        await newVersion(name);
        await newVersion(name);
        await registry.deleteRegisteredModel(tenant, name);
        await expectCode(registry.getRegisteredModel(tenant, name), ErrorCode.ModelNotFound);
        await expectCode(registry.getModelVersion(tenant, name, 1), ErrorCode.ModelNotFound);
        await registry.createRegisteredModel(tenant, { name });
        expect((await newVersion(name)).version).toBe(1);
      });
    });

    describe('searching models by name and order', () => {
      // A tenant id with an underscore: in a LIKE prefix it is a wildcard, and `sx…` would
      // match it, were the prefix not taken literally.
      const searchTenant = `s_${run}`;
      const rivalTenant = `sx${run}`;
      const names = [
        'churn',
        'churn-predictor',
        'Churn-Upper',
        'churn_v2',
        'churnXv2',
        'fraud-churn',
        'a.b',
      ];
      beforeAll(async () => {
        for (const name of names) await registry.createRegisteredModel(searchTenant, { name });
        await registry.createRegisteredModel(rivalTenant, { name: 'churn-rival' });
      });

      /** Every page of one query, as names; fails on more pages than models. */
      const walk = async (
        who: string,
        query: { nameLike?: string; orderBy?: ModelOrder },
        maxResults = 2,
        between?: (page: number) => Promise<void>,
      ): Promise<string[][]> => {
        const pages: string[][] = [];
        let pageToken: string | undefined;
        do {
          const page = await registry.searchRegisteredModels(who, {
            ...query,
            maxResults,
            pageToken,
          });
          expect(page.items.length).toBeLessThanOrEqual(maxResults);
          pages.push(page.items.map((m) => m.name));
          pageToken = page.nextPageToken;
          if (pageToken !== undefined) await between?.(pages.length);
        } while (pageToken !== undefined && pages.length <= 20);
        return pages;
      };
      const all = async (nameLike: string) => (await walk(searchTenant, { nameLike }, 100)).flat();

      it.each([
        ['churn%', ['churn', 'churn-predictor', 'churnXv2', 'churn_v2']],
        ['%churn%', ['churn', 'churn-predictor', 'churnXv2', 'churn_v2', 'fraud-churn']],
        ['churn', ['churn']],
        ['churn_v2', ['churnXv2', 'churn_v2']],
        ['churn\\_v2', ['churn_v2']],
        ['_hurn-%', ['Churn-Upper', 'churn-predictor']],
        ['CHURN%', []],
        ['%Upper', ['Churn-Upper']],
        ['a.b', ['a.b']],
        ['a_b', ['a.b']],
        ['churn\\%', []],
        ['%rival%', []],
      ])(
        'name LIKE %s: case-sensitive, %% and _ wildcards, backslash escapes',
        async (like, expected) => {
          expect(await all(like)).toEqual(expected);
        },
      );

      it('pages through a filtered listing by name, one model a page', async () => {
        const pages = await walk(searchTenant, { nameLike: 'churn%' }, 1);
        expect(pages.flat()).toEqual(['churn', 'churn-predictor', 'churnXv2', 'churn_v2']);
        expect(pages.every((p) => p.length === 1)).toBe(true);
      });

      it('orders by last update, most recent first, ties by name', async () => {
        const who = `lu-${run}`;
        for (const name of ['m1', 'm2', 'm3', 'm4'])
          await registry.createRegisteredModel(who, { name });
        for (const name of ['m3', 'm1', 'm4', 'm2']) {
          await new Promise((resolve) => setTimeout(resolve, 5));
          await registry.updateRegisteredModel(who, name, { description: 'touched' });
        }
        const listed = await registry.searchRegisteredModels(who, {
          maxResults: 10,
          orderBy: 'last_updated',
        });
        expect(listed.items.map((m) => m.name)).toEqual(['m2', 'm4', 'm1', 'm3']);
        const stamps = listed.items.map((m) => m.lastUpdatedAt);
        expect(stamps).toEqual([...stamps].sort((a, b) => b - a));
        expect((await walk(who, { orderBy: 'last_updated' }, 3)).flat()).toEqual([
          'm2',
          'm4',
          'm1',
          'm3',
        ]);
        expect((await walk(who, { orderBy: 'name' }, 3)).flat()).toEqual(['m1', 'm2', 'm3', 'm4']);
      });

      it('resumes right after the last model of a page when models are created and deleted before it', async () => {
        const who = `ks-${run}`;
        for (const name of ['b1', 'b2', 'b3', 'b4', 'b5', 'b6'])
          await registry.createRegisteredModel(who, { name });
        const pages = await walk(who, {}, 2, async (page) => {
          if (page === 1) {
            await registry.deleteRegisteredModel(who, 'b1'); // before the cursor
            await registry.createRegisteredModel(who, { name: 'a0' }); // before it too
            await registry.createRegisteredModel(who, { name: 'a1' });
          }
          if (page === 2) await registry.deleteRegisteredModel(who, 'b4'); // the cursor itself
        });
        expect(pages).toEqual([
          ['b1', 'b2'],
          ['b3', 'b4'],
          ['b5', 'b6'],
        ]);
      });

      it('by last update, a model updated during the walk neither comes twice nor shifts the rest', async () => {
        const who = `ku-${run}`;
        for (const name of ['c1', 'c2', 'c3', 'c4', 'c5']) {
          await new Promise((resolve) => setTimeout(resolve, 5));
          await registry.createRegisteredModel(who, { name });
        }
        const pages = await walk(who, { orderBy: 'last_updated' }, 2, async (page) => {
          // Moves c2, not seen yet, to the top: the models after the cursor shift by one.
          if (page === 1) await registry.updateRegisteredModel(who, 'c2', { description: 'x' });
        });
        expect(pages).toEqual([
          ['c5', 'c4'],
          ['c3', 'c1'],
        ]);
      });

      it('refuses a page token of another order_by or name_like, naming it', async () => {
        const first = await registry.searchRegisteredModels(searchTenant, {
          maxResults: 1,
          nameLike: 'churn%',
        });
        const pageToken = first.nextPageToken;
        expect(pageToken).toBeDefined();
        const refusal = (query: { nameLike?: string; orderBy?: ModelOrder }) =>
          registry
            .searchRegisteredModels(searchTenant, { maxResults: 1, pageToken, ...query })
            .then(
              () => undefined,
              (e: unknown) => e,
            );
        for (const [query, field] of [
          [{ nameLike: 'churn%', orderBy: 'last_updated' }, /order_by/],
          [{ nameLike: 'fraud%' }, /name_like/],
          [{}, /name_like/],
        ] as const) {
          const err = await refusal(query);
          expect(err).toBeInstanceOf(RegistryError);
          expect((err as RegistryError).code).toBe(ErrorCode.ValidationFailed);
          expect((err as RegistryError).message).toMatch(field);
        }
      });
    });

    describe('model versions', () => {
      it('numbers versions 1, 2, 3 in stage none and bumps the model’s last update', async () => {
        const name = await newModel();
        const model = await registry.getRegisteredModel(tenant, name);
        const v1 = await newVersion(name, { tags: { algorithm: 'xgboost' } });
        const v2 = await newVersion(name);
        const v3 = await newVersion(name);
        expect([v1.version, v2.version, v3.version]).toEqual([1, 2, 3]);
        expect(v1).toMatchObject({
          name,
          stage: Stage.None,
          source: `s3://contract-bucket/${name}/model.pkl`,
          tags: { algorithm: 'xgboost' },
        });
        const after = await registry.getRegisteredModel(tenant, name);
        expect(after.lastUpdatedAt).toBeGreaterThanOrEqual(model.lastUpdatedAt);
        expect(after.lastUpdatedAt).toBeGreaterThanOrEqual(v3.createdAt);
      });

      it('never reuses the number of a deleted version', async () => {
        const name = await newModel();
        await newVersion(name);
        await newVersion(name);
        await registry.deleteModelVersion(tenant, name, 2);
        await expectCode(registry.getModelVersion(tenant, name, 2), ErrorCode.VersionNotFound);
        expect((await newVersion(name)).version).toBe(3);
        expect((await registry.searchModelVersions(tenant, name)).map((v) => v.version)).toEqual([
          1, 3,
        ]);
      });

      it('answers VERSION_NOT_FOUND and MODEL_NOT_FOUND precisely', async () => {
        const name = await newModel();
        await expectCode(registry.getModelVersion(tenant, name, 9), ErrorCode.VersionNotFound);
        await expectCode(
          registry.getModelVersion(tenant, unique('nope'), 1),
          ErrorCode.ModelNotFound,
        );
        await expectCode(
          registry.transitionModelVersionStage(tenant, name, 9, Stage.Staging, false),
          ErrorCode.VersionNotFound,
        );
      });

      it('reads a version with its model as the two reads answer them', async () => {
        const name = await newModel({ team: 'ml' });
        await newVersion(name, { tags: { a: '1' } });
        const both = await registry.getModelVersionWithModel(tenant, name, 1);
        expect(both.model).toEqual(await registry.getRegisteredModel(tenant, name));
        expect(both.version).toEqual(await registry.getModelVersion(tenant, name, 1));
        await expectCode(
          registry.getModelVersionWithModel(tenant, name, 9),
          ErrorCode.VersionNotFound,
        );
        await expectCode(
          registry.getModelVersionWithModel(tenant, unique('nope'), 1),
          ErrorCode.ModelNotFound,
        );
        await expectCode(
          registry.getModelVersionWithModel(otherTenant, name, 1),
          ErrorCode.ModelNotFound,
        );
      });

      it('answers writes with the version as a read would, given the model or not', async () => {
        const name = await newModel();
        const known = { model: await registry.getRegisteredModel(tenant, name) };
        const created = await registry.createModelVersion(
          tenant,
          name,
          { source: `s3://contract-bucket/${name}/model.pkl`, tags: { a: '1' } },
          known,
        );
        expect(created).toEqual(await registry.getModelVersion(tenant, name, 1));
        const moved = await registry.transitionModelVersionStage(
          tenant,
          name,
          1,
          Stage.Staging,
          false,
          known,
        );
        expect(moved).toEqual(await registry.getModelVersion(tenant, name, 1));
        expect(await registry.searchModelVersions(tenant, name, {}, known)).toEqual([moved]);
        await expectCode(
          registry.transitionModelVersionStage(tenant, name, 9, Stage.Staging, false, known),
          ErrorCode.VersionNotFound,
        );
        // A model deleted since it was read is still not found.
        await registry.deleteRegisteredModel(tenant, name);
        await expectCode(
          registry.createModelVersion(tenant, name, { source: 's3://contract-bucket/x' }, known),
          ErrorCode.ModelNotFound,
        );
        await expectCode(
          registry.transitionModelVersionStage(tenant, name, 1, Stage.Staging, false, known),
          ErrorCode.ModelNotFound,
        );
      });

      it('takes the model on every other call on it, and still finds a model deleted since', async () => {
        const name = await newModel({ drop: 'me' });
        const known = { model: await registry.getRegisteredModel(tenant, name) };
        const updated = await registry.updateRegisteredModel(
          tenant,
          name,
          { description: 'new words' },
          known,
        );
        expect(updated.description).toBe('new words');
        await registry.setRegisteredModelTag(tenant, name, 'added', 'v', known);
        await registry.deleteRegisteredModelTag(tenant, name, 'drop', known);
        await registry.deleteRegisteredModelTag(tenant, name, 'never-set', known);
        expect((await registry.getRegisteredModel(tenant, name)).tags).toEqual({ added: 'v' });

        await newVersion(name, { tags: { a: '1' } });
        await newVersion(name);
        expect(await registry.getModelVersion(tenant, name, 1, known)).toEqual(
          await registry.getModelVersion(tenant, name, 1),
        );
        await expectCode(
          registry.getModelVersion(tenant, name, 9, known),
          ErrorCode.VersionNotFound,
        );
        const described = await registry.updateModelVersion(
          tenant,
          name,
          1,
          { description: 'retrained' },
          known,
        );
        expect(described).toEqual(await registry.getModelVersion(tenant, name, 1));
        expect(described.description).toBe('retrained');
        await registry.setModelVersionTag(tenant, name, 1, 'b', '2', known);
        await registry.deleteModelVersionTag(tenant, name, 1, 'a', known);
        await registry.deleteModelVersionTag(tenant, name, 1, 'never-set', known);
        expect((await registry.getModelVersion(tenant, name, 1)).tags).toEqual({ b: '2' });
        await expectCode(
          registry.setModelVersionTag(tenant, name, 9, 'x', 'y', known),
          ErrorCode.VersionNotFound,
        );
        await expectCode(
          registry.deleteModelVersionTag(tenant, name, 9, 'x', known),
          ErrorCode.VersionNotFound,
        );
        await registry.deleteModelVersion(tenant, name, 2, known);
        await expectCode(registry.getModelVersion(tenant, name, 2), ErrorCode.VersionNotFound);
        await expectCode(
          registry.deleteModelVersion(tenant, name, 2, known),
          ErrorCode.VersionNotFound,
        );

        await registry.deleteRegisteredModel(tenant, name, known);
        await expectCode(registry.getRegisteredModel(tenant, name), ErrorCode.ModelNotFound);
        for (const call of [
          () => registry.updateRegisteredModel(tenant, name, { description: 'x' }, known),
          () => registry.setRegisteredModelTag(tenant, name, 'k', 'v', known),
          () => registry.deleteRegisteredModelTag(tenant, name, 'added', known),
          () => registry.deleteRegisteredModelTag(tenant, name, 'never-set', known),
          () => registry.deleteRegisteredModel(tenant, name, known),
          () => registry.getModelVersion(tenant, name, 1, known),
          () => registry.updateModelVersion(tenant, name, 1, { description: 'x' }, known),
          () => registry.setModelVersionTag(tenant, name, 1, 'k', 'v', known),
          () => registry.deleteModelVersionTag(tenant, name, 1, 'b', known),
          () => registry.deleteModelVersion(tenant, name, 1, known),
        ]) {
          await expectCode(call(), ErrorCode.ModelNotFound);
        }
      });

      it('updates a version’s description and tags', async () => {
        const name = await newModel();
        await newVersion(name, { tags: { a: '1', b: '2' } });
        const updated = await registry.updateModelVersion(tenant, name, 1, {
          description: 'retrained',
        });
        expect(updated.description).toBe('retrained');
        await registry.setModelVersionTag(tenant, name, 1, 'c', '3');
        await registry.deleteModelVersionTag(tenant, name, 1, 'a');
        expect((await registry.getModelVersion(tenant, name, 1)).tags).toEqual({ b: '2', c: '3' });
        await expectCode(
          registry.setModelVersionTag(tenant, name, 5, 'x', 'y'),
          ErrorCode.VersionNotFound,
        );
      });

      it('lists versions oldest first, optionally in one stage', async () => {
        const name = await newModel();
        for (let i = 0; i < 3; i++) await newVersion(name);
        await registry.transitionModelVersionStage(tenant, name, 2, Stage.Staging, false);
        expect((await registry.searchModelVersions(tenant, name)).map((v) => v.version)).toEqual([
          1, 2, 3,
        ]);
        expect(
          (await registry.searchModelVersions(tenant, name, { stage: Stage.Staging })).map(
            (v) => v.version,
          ),
        ).toEqual([2]);
      });
    });

    describe('stage transitions', () => {
      it('moves between any stages, including to the stage it already has', async () => {
        const name = await newModel();
        await newVersion(name);
        for (const stage of [
          Stage.Production,
          Stage.None,
          Stage.Archived,
          Stage.Staging,
          Stage.Staging,
        ]) {
          const v = await registry.transitionModelVersionStage(tenant, name, 1, stage, false);
          expect(v.stage).toBe(stage);
        }
      });

      it('archive_existing_versions archives only the other versions in the target stage', async () => {
        const name = await newModel();
        for (let i = 0; i < 4; i++) await newVersion(name);
        await registry.transitionModelVersionStage(tenant, name, 1, Stage.Production, false);
        await registry.transitionModelVersionStage(tenant, name, 2, Stage.Staging, false);
        await registry.transitionModelVersionStage(tenant, name, 3, Stage.Staging, false);
        await registry.transitionModelVersionStage(tenant, name, 4, Stage.Production, true);
        expect(await stagesOf(name)).toEqual({
          1: Stage.Archived,
          2: Stage.Staging,
          3: Stage.Staging,
          4: Stage.Production,
        });
        await registry.transitionModelVersionStage(tenant, name, 1, Stage.Staging, true);
        expect(await stagesOf(name)).toEqual({
          1: Stage.Staging,
          2: Stage.Archived,
          3: Stage.Archived,
          4: Stage.Production,
        });
      });

      it('without archive_existing_versions several versions may share production', async () => {
        const name = await newModel();
        await newVersion(name);
        await newVersion(name);
        await registry.transitionModelVersionStage(tenant, name, 1, Stage.Production, false);
        await registry.transitionModelVersionStage(tenant, name, 2, Stage.Production, false);
        const prod = await registry.searchModelVersions(tenant, name, { stage: Stage.Production });
        expect(prod.map((v) => v.version)).toEqual([1, 2]);
      });

      it('reports the newest version of each stage as latestVersions', async () => {
        const name = await newModel();
        for (let i = 0; i < 5; i++) await newVersion(name);
        await registry.transitionModelVersionStage(tenant, name, 2, Stage.Production, false);
        await registry.transitionModelVersionStage(tenant, name, 3, Stage.Staging, false);
        await registry.transitionModelVersionStage(tenant, name, 4, Stage.Staging, false);
        await registry.transitionModelVersionStage(tenant, name, 1, Stage.Archived, false);
        const latest = (await registry.getRegisteredModel(tenant, name)).latestVersions;
        const byStage = Object.fromEntries(latest.map((l) => [l.stage, l.version]));
        expect(byStage).toEqual({
          [Stage.None]: 5,
          [Stage.Production]: 2,
          [Stage.Staging]: 4,
          [Stage.Archived]: 1,
        });
      });

      it('updates the version’s and the model’s last update time', async () => {
        const name = await newModel();
        const v = await newVersion(name);
        await new Promise((r) => setTimeout(r, 5));
        const moved = await registry.transitionModelVersionStage(
          tenant,
          name,
          1,
          Stage.Staging,
          false,
        );
        expect(moved.lastUpdatedAt).toBeGreaterThan(v.lastUpdatedAt);
        expect((await registry.getRegisteredModel(tenant, name)).lastUpdatedAt).toBe(
          moved.lastUpdatedAt,
        );
      });
    });

    describe('runs', () => {
      it('keeps metrics as numbers and parameters with their JSON types', async () => {
        const created = await registry.createRun(tenant, {
          metrics: { f1_score: 0.912, auc_roc: 0.97, count: 3 },
          params: {
            n_estimators: 200,
            learning_rate: 0.05,
            booster: 'gbtree',
            early_stop: true,
            tag: '200',
          },
        });
        const read = await registry.getRun(tenant, created.runId);
        expect(read).toEqual(created);
        expect(read).toEqual({
          runId: created.runId,
          metrics: { f1_score: 0.912, auc_roc: 0.97, count: 3 },
          params: {
            n_estimators: 200,
            learning_rate: 0.05,
            booster: 'gbtree',
            early_stop: true,
            tag: '200',
          },
        });
      });

      it('takes values still on their way, and fails with their error', async () => {
        const later = new Promise<{
          metrics: Record<string, number>;
          params: Record<string, string>;
        }>((resolve) =>
          setTimeout(() => resolve({ metrics: { f1: 0.7 }, params: { a: 'b' } }), 20),
        );
        const created = await registry.createRun(tenant, later);
        expect(await registry.getRun(tenant, created.runId)).toEqual({
          runId: created.runId,
          metrics: { f1: 0.7 },
          params: { a: 'b' },
        });
        const failure = new Error('the metrics file could not be read');
        const failing = new Promise<never>((_, reject) => setTimeout(() => reject(failure), 20));
        await expect(registry.createRun(tenant, failing)).rejects.toBe(failure);
      });

      it('links a version to its run, hides runs across tenants, and deletes runs', async () => {
        const name = await newModel();
        const created = await registry.createRun(tenant, { metrics: { f1: 0.5 }, params: {} });
        const v = await newVersion(name, { runId: created.runId });
        expect(v.runId).toBe(created.runId);
        await expectCode(registry.getRun(otherTenant, created.runId), ErrorCode.RunNotFound);
        const another = await registry.createRun(tenant, { metrics: {}, params: {} });
        await registry.deleteRun(tenant, another.runId);
        await expectCode(registry.getRun(tenant, another.runId), ErrorCode.RunNotFound);
      });
    });

    describeAliasesContract({ registry: () => registry, tenant, otherTenant, unique });

    it('answers ping', async () => {
      await expect(registry.ping()).resolves.toBeUndefined();
    });
  });
}
