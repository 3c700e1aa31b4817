import type { Role } from './roles';

/** The authenticated caller, from the bearer token's claims. */
export interface Principal {
  /** `sub`: the user id. */
  readonly subject: string;
  /** `tenant_id`: the tenant the caller belongs to. */
  readonly tenantId: string;
  readonly roles: readonly Role[];
}

/**
 * Who someone is: a `sub` names a user only within its tenant, so a person is the pair. A
 * Principal is one; records that name people (approvals, history) keep both.
 */
export type PrincipalId = Pick<Principal, 'tenantId' | 'subject'>;

export const TENANT_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;
