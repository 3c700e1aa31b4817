import { RegistryError } from '../../common/errors/registry-error';
import { likeWithoutEscapes } from '../model-search';

/** Separates namespace, tenant and model in MLflow names; no tenant id or model name has it. */
const SEPARATOR = '~';
/** Tags this adapter writes on MLflow objects and hides from the service. */
export const TENANT_TAG = 'registry.tenant';
export const NAMESPACE_TAG = 'registry.namespace';
const TENANCY_TAGS = new Set([TENANT_TAG, NAMESPACE_TAG]);
/** Ids and names the adapter puts inside filter strings: never a quote or a backslash. */
const SAFE = /^[A-Za-z0-9._ -]+$/;

/** A tag that records who owns an MLflow object: never shown to the service. */
export function isTenancyTag(key: string): boolean {
  return TENANCY_TAGS.has(key);
}

/** The service's name of an MLflow model: what follows the last separator. */
export function plainName(mlflowName: string): string {
  return mlflowName.slice(mlflowName.lastIndexOf(SEPARATOR) + 1);
}

/**
 * Tenants (and, with ML_REGISTRY_NAMESPACE, deployments) sharing one MLflow server, which has
 * neither: a tenant's model `churn` is the MLflow model `<tenant>~churn`
 * (`<namespace>~<tenant>~churn`), tagged `registry.tenant` (and `registry.namespace`); a model
 * whose tags do not match is not the tenant's, whatever its name, and listings filter on the
 * tags as well as the name. Runs live in one experiment per tenant,
 * `model-registry/[<namespace>/]<tenant>`.
 */
export class MlflowTenancy {
  constructor(readonly namespace?: string) {}

  /** `[<namespace>~]<tenant>~`: every MLflow name of one tenant starts with it. */
  tenantPrefix(tenant: string): string {
    if (!SAFE.test(tenant)) throw RegistryError.validation('tenant ids may not contain quotes');
    const prefix = this.namespace !== undefined ? `${this.namespace}${SEPARATOR}` : '';
    return `${prefix}${tenant}${SEPARATOR}`;
  }

  mlflowName(tenant: string, name: string): string {
    if (!SAFE.test(name)) throw RegistryError.validation('model names may not contain quotes');
    return `${this.tenantPrefix(tenant)}${name}`;
  }

  /** Whether an MLflow object with these tags (all of them, as a map) is the tenant's. */
  ownedBy(tags: Record<string, string>, tenant: string): boolean {
    return tags[TENANT_TAG] === tenant && tags[NAMESPACE_TAG] === this.namespace;
  }

  /** The tags that make an MLflow object the tenant's. */
  ownerTags(tenant: string): Record<string, string> {
    return this.namespace !== undefined
      ? { [TENANT_TAG]: tenant, [NAMESPACE_TAG]: this.namespace }
      : { [TENANT_TAG]: tenant };
  }

  /**
   * The `registered-models/search` filter for the tenant's models whose name is LIKE
   * `nameLike` (all of them without it); null when no model name can match it.
   *
   * MLflow's filter grammar has no portable escape (SQLAlchemy's `like()` without `escape`: a
   * backslash escapes on PostgreSQL and MySQL, not on SQLite), so the prefix's own `_` (tenant
   * ids and namespaces may have one) and a pattern's escaped `_` are sent as wildcards: the
   * filter may match more than it should, never less, and `ownsName` with `likeMatches` on the
   * answer keep exactly the right models. Tenant ids and namespaces never hold a `%`.
   */
  modelFilter(tenant: string, nameLike?: string): string | null {
    const prefix = this.tenantPrefix(tenant);
    const pattern = nameLike === undefined ? '%' : likeWithoutEscapes(nameLike);
    if (pattern === null) return null;
    return [
      `name LIKE '${prefix}${pattern}'`,
      `tags.\`${TENANT_TAG}\` = '${tenant}'`,
      ...(this.namespace !== undefined ? [`tags.\`${NAMESPACE_TAG}\` = '${this.namespace}'`] : []),
    ].join(' AND ');
  }

  /** Whether an MLflow name is one of the tenant's (its prefix taken literally). */
  ownsName(mlflowName: string, tenant: string): boolean {
    const prefix = this.tenantPrefix(tenant);
    return mlflowName.startsWith(prefix) && !mlflowName.slice(prefix.length).includes(SEPARATOR);
  }

  experimentName(tenant: string): string {
    return this.namespace !== undefined
      ? `model-registry/${this.namespace}/${tenant}`
      : `model-registry/${tenant}`;
  }
}
