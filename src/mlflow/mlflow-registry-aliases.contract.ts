import { ErrorCode } from '../common/errors/error-code';
import { RegistryError } from '../common/errors/registry-error';
import { MlflowRegistry } from './mlflow-registry';
import { Stage } from './registry-types';

async function expectCode(promise: Promise<unknown>, code: ErrorCode): Promise<void> {
  const err: unknown = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(RegistryError);
  expect((err as RegistryError).code).toBe(code);
}

/**
 * The port's aliases, MLflow's semantics: one alias names one version of a model, setting it
 * again moves it, versions and models carry theirs, deleting a version deletes its aliases,
 * deleting a missing alias is no error, and tenants never see each other's. Part of the
 * registry contract (`mlflow-registry.contract.ts`), run wherever it runs.
 */
export function describeAliasesContract(context: {
  registry: () => MlflowRegistry;
  tenant: string;
  otherTenant: string;
  unique: (base: string) => string;
}): void {
  const { tenant, otherTenant, unique } = context;

  describe('aliases', () => {
    /** A model with `versions` versions. */
    const modelWith = async (versions: number): Promise<string> => {
      const registry = context.registry();
      const name = unique('aliased');
      await registry.createRegisteredModel(tenant, { name });
      for (let i = 1; i <= versions; i++) {
        await registry.createModelVersion(tenant, name, {
          source: `s3://contract-bucket/${name}/v${i}/model.pkl`,
        });
      }
      return name;
    };

    it('sets an alias: the version, the model and the lookup by alias all show it', async () => {
      const registry = context.registry();
      const name = await modelWith(2);
      expect((await registry.getModelVersion(tenant, name, 1)).aliases).toEqual([]);
      expect((await registry.getRegisteredModel(tenant, name)).aliases).toEqual({});

      await registry.setRegisteredModelAlias(tenant, name, 'champion', 2);
      await registry.setRegisteredModelAlias(tenant, name, 'challenger', 2);
      await registry.setRegisteredModelAlias(tenant, name, 'baseline', 1);

      const byAlias = await registry.getModelVersionByAlias(tenant, name, 'champion');
      expect(byAlias).toEqual(await registry.getModelVersion(tenant, name, 2));
      expect(byAlias.aliases).toEqual(['challenger', 'champion']);
      expect(byAlias.source).toBe(`s3://contract-bucket/${name}/v2/model.pkl`);
      expect((await registry.getRegisteredModel(tenant, name)).aliases).toEqual({
        baseline: 1,
        challenger: 2,
        champion: 2,
      });
      const listed = await registry.searchModelVersions(tenant, name);
      expect(listed.map((v) => [v.version, v.aliases])).toEqual([
        [1, ['baseline']],
        [2, ['challenger', 'champion']],
      ]);
      const known = { model: await registry.getRegisteredModel(tenant, name) };
      expect(await registry.searchModelVersions(tenant, name, {}, known)).toEqual(listed);
      const page = await registry.searchRegisteredModels(tenant, {
        maxResults: 10,
        nameLike: name,
      });
      expect(page.items.map((m) => m.aliases)).toEqual([
        { baseline: 1, challenger: 2, champion: 2 },
      ]);
    });

    it('moves an alias by setting it again: it names one version only', async () => {
      const registry = context.registry();
      const name = await modelWith(3);
      await registry.setRegisteredModelAlias(tenant, name, 'champion', 1);
      await registry.setRegisteredModelAlias(tenant, name, 'champion', 3);
      expect((await registry.getModelVersionByAlias(tenant, name, 'champion')).version).toBe(3);
      expect((await registry.getModelVersion(tenant, name, 1)).aliases).toEqual([]);
      expect((await registry.getModelVersion(tenant, name, 3)).aliases).toEqual(['champion']);
      expect((await registry.getRegisteredModel(tenant, name)).aliases).toEqual({ champion: 3 });
      // Setting it to the version it names already changes nothing.
      await registry.setRegisteredModelAlias(tenant, name, 'champion', 3);
      expect((await registry.getRegisteredModel(tenant, name)).aliases).toEqual({ champion: 3 });
    });

    it('keeps aliases on answers of transitions and updates', async () => {
      const registry = context.registry();
      const name = await modelWith(1);
      await registry.setRegisteredModelAlias(tenant, name, 'champion', 1);
      const moved = await registry.transitionModelVersionStage(
        tenant,
        name,
        1,
        Stage.Staging,
        false,
      );
      expect(moved.aliases).toEqual(['champion']);
      const updated = await registry.updateModelVersion(tenant, name, 1, { description: 'x' });
      expect(updated.aliases).toEqual(['champion']);
    });

    it('deletes an alias; deleting one that is not there is no error', async () => {
      const registry = context.registry();
      const name = await modelWith(1);
      await registry.setRegisteredModelAlias(tenant, name, 'champion', 1);
      await registry.deleteRegisteredModelAlias(tenant, name, 'champion');
      await expectCode(
        registry.getModelVersionByAlias(tenant, name, 'champion'),
        ErrorCode.AliasNotFound,
      );
      expect((await registry.getModelVersion(tenant, name, 1)).aliases).toEqual([]);
      expect((await registry.getRegisteredModel(tenant, name)).aliases).toEqual({});
      await expect(
        registry.deleteRegisteredModelAlias(tenant, name, 'champion'),
      ).resolves.toBeUndefined();
    });

    it('deleting a version deletes its aliases, and only its', async () => {
      const registry = context.registry();
      const name = await modelWith(2);
      await registry.setRegisteredModelAlias(tenant, name, 'champion', 1);
      await registry.setRegisteredModelAlias(tenant, name, 'challenger', 2);
      await registry.deleteModelVersion(tenant, name, 1);
      await expectCode(
        registry.getModelVersionByAlias(tenant, name, 'champion'),
        ErrorCode.AliasNotFound,
      );
      expect((await registry.getRegisteredModel(tenant, name)).aliases).toEqual({ challenger: 2 });
      // A new version never inherits the alias of the deleted one.
      await registry.createModelVersion(tenant, name, { source: 's3://contract-bucket/x/v3/m' });
      expect((await registry.getModelVersion(tenant, name, 3)).aliases).toEqual([]);
    });

    it('a model re-created under the same name starts without aliases', async () => {
      const registry = context.registry();
      const name = await modelWith(1);
      await registry.setRegisteredModelAlias(tenant, name, 'champion', 1);
      await registry.deleteRegisteredModel(tenant, name);
      await registry.createRegisteredModel(tenant, { name });
      await registry.createModelVersion(tenant, name, { source: 's3://contract-bucket/y/v1/m' });
      expect((await registry.getRegisteredModel(tenant, name)).aliases).toEqual({});
      await expectCode(
        registry.getModelVersionByAlias(tenant, name, 'champion'),
        ErrorCode.AliasNotFound,
      );
    });

    it('answers MODEL_NOT_FOUND, VERSION_NOT_FOUND and ALIAS_NOT_FOUND precisely', async () => {
      const registry = context.registry();
      const name = await modelWith(1);
      const missing = unique('nope');
      await expectCode(
        registry.setRegisteredModelAlias(tenant, name, 'champion', 9),
        ErrorCode.VersionNotFound,
      );
      await expectCode(
        registry.setRegisteredModelAlias(tenant, missing, 'champion', 1),
        ErrorCode.ModelNotFound,
      );
      await expectCode(
        registry.deleteRegisteredModelAlias(tenant, missing, 'champion'),
        ErrorCode.ModelNotFound,
      );
      await expectCode(
        registry.getModelVersionByAlias(tenant, missing, 'champion'),
        ErrorCode.ModelNotFound,
      );
      await expectCode(
        registry.getModelVersionByAlias(tenant, name, 'champion'),
        ErrorCode.AliasNotFound,
      );
    });

    it('keeps tenants apart: another tenant can neither read nor set nor delete an alias', async () => {
      const registry = context.registry();
      const name = await modelWith(1);
      await registry.setRegisteredModelAlias(tenant, name, 'champion', 1);
      await expectCode(
        registry.getModelVersionByAlias(otherTenant, name, 'champion'),
        ErrorCode.ModelNotFound,
      );
      await expectCode(
        registry.setRegisteredModelAlias(otherTenant, name, 'champion', 1),
        ErrorCode.ModelNotFound,
      );
      await expectCode(
        registry.deleteRegisteredModelAlias(otherTenant, name, 'champion'),
        ErrorCode.ModelNotFound,
      );
      expect((await registry.getRegisteredModel(tenant, name)).aliases).toEqual({ champion: 1 });
    });
  });
}
