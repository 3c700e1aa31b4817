import { ErrorCode } from '../../common/errors/error-code';
import { isTenancyTag, MlflowTenancy, plainName } from './mlflow-tenancy';

describe('MlflowTenancy', () => {
  const bare = new MlflowTenancy();
  const namespaced = new MlflowTenancy('prod.eu');

  it('names a tenant’s model <tenant>~<name>, or <namespace>~<tenant>~<name>', () => {
    expect(bare.mlflowName('acme', 'churn')).toBe('acme~churn');
    expect(namespaced.mlflowName('acme', 'churn')).toBe('prod.eu~acme~churn');
  });

  it('keeps dots, dashes and underscores of a model name as they are, and reads them back', () => {
    const name = 'churn.v2_final-b';
    expect(namespaced.mlflowName('acme.corp', name)).toBe(`prod.eu~acme.corp~${name}`);
    expect(plainName(namespaced.mlflowName('acme.corp', name))).toBe(name);
    expect(plainName(bare.mlflowName('acme.corp', name))).toBe(name);
  });

  it('reads an MLflow name without a separator as it is', () => {
    expect(plainName('churn')).toBe('churn');
  });

  it.each([
    ['a quote in a model name', 'acme', "x' OR name LIKE '%"],
    ['a backslash in a model name', 'acme', 'x\\'],
    ['a separator in a model name', 'acme', 'a~b'],
    ['a quote in a tenant id', "ac'me", 'churn'],
    ['an empty model name', 'acme', ''],
  ])('refuses %s, which could leave the tenant in a filter', (_what, tenant, name) => {
    expect(() => bare.mlflowName(tenant, name)).toThrow(
      expect.objectContaining({ code: ErrorCode.ValidationFailed }),
    );
  });

  it('filters a search on the name prefix and the owner tags', () => {
    expect(bare.modelFilter('acme')).toBe("name LIKE 'acme~%' AND tags.`registry.tenant` = 'acme'");
    expect(namespaced.modelFilter('acme')).toBe(
      "name LIKE 'prod.eu~acme~%' AND tags.`registry.tenant` = 'acme'" +
        " AND tags.`registry.namespace` = 'prod.eu'",
    );
    expect(bare.modelFilter('acme_corp', 'churn\\_v2%')).toBe(
      "name LIKE 'acme_corp~churn_v2%' AND tags.`registry.tenant` = 'acme_corp'",
    );
    expect(bare.modelFilter('acme', 'x\\%')).toBeNull();
    expect(bare.ownsName('acme_corp~churn', 'acme_corp')).toBe(true);
    expect(bare.ownsName('acmeXcorp~churn', 'acme_corp')).toBe(false);
    expect(bare.ownsName('acme_corp~a~b', 'acme_corp')).toBe(false);
    expect(() => bare.modelFilter("a'")).toThrow(
      expect.objectContaining({ code: ErrorCode.ValidationFailed }),
    );
  });

  it('tags what it creates with the tenant, and the namespace when there is one', () => {
    expect(bare.ownerTags('acme')).toEqual({ 'registry.tenant': 'acme' });
    expect(namespaced.ownerTags('acme')).toEqual({
      'registry.tenant': 'acme',
      'registry.namespace': 'prod.eu',
    });
  });

  it('owns what carries exactly its tenant and namespace tags', () => {
    expect(bare.ownedBy({ 'registry.tenant': 'acme', team: 'ml' }, 'acme')).toBe(true);
    expect(bare.ownedBy({ 'registry.tenant': 'other' }, 'acme')).toBe(false);
    expect(bare.ownedBy({}, 'acme')).toBe(false);
    // A namespaced deployment's model is not the bare deployment's, nor the reverse.
    expect(bare.ownedBy({ 'registry.tenant': 'acme', 'registry.namespace': 'x' }, 'acme')).toBe(
      false,
    );
    expect(namespaced.ownedBy({ 'registry.tenant': 'acme' }, 'acme')).toBe(false);
    expect(
      namespaced.ownedBy({ 'registry.tenant': 'acme', 'registry.namespace': 'prod.eu' }, 'acme'),
    ).toBe(true);
    expect(
      namespaced.ownedBy({ 'registry.tenant': 'acme', 'registry.namespace': 'prod' }, 'acme'),
    ).toBe(false);
  });

  it('gives each tenant one experiment, under the namespace when there is one', () => {
    expect(bare.experimentName('acme')).toBe('model-registry/acme');
    expect(namespaced.experimentName('acme')).toBe('model-registry/prod.eu/acme');
  });

  it('hides only its own tags from the service', () => {
    expect(isTenancyTag('registry.tenant')).toBe(true);
    expect(isTenancyTag('registry.namespace')).toBe(true);
    expect(isTenancyTag('registry.model_uid')).toBe(false);
    expect(isTenancyTag('team')).toBe(false);
  });
});
