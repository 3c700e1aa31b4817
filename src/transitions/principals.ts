import type { ApprovalRow } from './approvals.repository';
import type { PrincipalId } from '../common/auth/principal';

/**
 * Whether two records name the same person. A `sub` is unique only within its tenant, and an
 * admin of another tenant may act here with `?tenant_id=`: acme's `alice` and globex's `alice`
 * are two people. Every rule that asks "is this the same person" (four eyes, cancel by the
 * requester) asks it here.
 */
export function samePrincipal(a: PrincipalId, b: PrincipalId): boolean {
  return a.tenantId === b.tenantId && a.subject === b.subject;
}

/**
 * The tenant of a person a stored record names by `sub`: the recorded tenant, or, when none is
 * recorded (a history entry from before migration 005, an approval an older replica wrote), the
 * record's own tenant, which is what a `sub` alone meant. Null when the record names nobody.
 */
export function tenantOf(
  sub: string | null,
  recorded: string | null,
  recordTenant: string,
): string | null {
  return sub === null ? null : (recorded ?? recordTenant);
}

/** Who asked for an approval. */
export function requesterOf(row: ApprovalRow): PrincipalId {
  return { tenantId: row.requested_by_tenant ?? row.tenant_id, subject: row.requested_by };
}

/** Who decided an approval (approved, rejected or cancelled it); null while it is pending. */
export function deciderOf(row: ApprovalRow): PrincipalId | null {
  return row.decided_by === null
    ? null
    : { tenantId: row.decided_by_tenant ?? row.tenant_id, subject: row.decided_by };
}
