import type { HistoryEntry } from '../audit/history.repository';
import type { PrincipalId } from '../common/auth/principal';
import { HistoryEvent } from '../database/schema';
import type { ApprovalRow } from './approvals.repository';
import { requesterOf } from './principals';

/** The one builder of a history entry about an approval request (request, vote, decision). */
export function approvalEntry(
  row: ApprovalRow,
  event: HistoryEvent,
  actor: PrincipalId,
  at: number,
  comment: string | null,
): HistoryEntry {
  const approved = event === HistoryEvent.ApprovalApproved;
  const requester = requesterOf(row);
  return {
    tenant_id: row.tenant_id,
    model_name: row.model_name,
    model_uid: row.model_uid,
    version: row.version,
    event,
    from_stage: null,
    to_stage: row.target_stage,
    actor: actor.subject,
    actor_tenant: actor.tenantId,
    at,
    comment,
    approval_id: row.id,
    requested_by: requester.subject,
    requested_by_tenant: requester.tenantId,
    approved_by: approved ? actor.subject : null,
    approved_by_tenant: approved ? actor.tenantId : null,
  };
}

/** Who the service itself acts as when a rule does something (expiry, auto-promotion). */
export function systemActor(tenant: string, name: string): PrincipalId {
  return { tenantId: tenant, subject: name };
}
