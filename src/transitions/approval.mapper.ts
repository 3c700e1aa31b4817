import { ApprovalRow, VoteRow } from './approvals.repository';
import { ApplyState, ApprovalKind, ApprovalStatus } from '../database/schema';
import type { Stage } from '../mlflow/registry-types';
import { iso } from '../common/time';
import type { ApprovalDto, GateResultDto } from './dto/approval.dto';
import { deciderOf, requesterOf } from './principals';

const isoOrNull = (ms: number | null): string | null => (ms === null ? null : iso(Number(ms)));

function parsed<T>(json: string | null, fallback: T): T {
  return json === null ? fallback : (JSON.parse(json) as T);
}

export function mapApproval(row: ApprovalRow, votes: readonly VoteRow[]): ApprovalDto {
  return {
    id: row.id,
    model: row.model_name,
    version: row.version,
    target_stage: row.target_stage as Stage,
    status: row.status as ApprovalStatus,
    archive_existing_versions: row.archive_existing_versions === 1,
    requested_by: row.requested_by,
    requested_by_tenant: requesterOf(row).tenantId,
    requested_at: iso(Number(row.requested_at)),
    comment: row.request_comment,
    decided_by: row.decided_by,
    decided_by_tenant: deciderOf(row)?.tenantId ?? null,
    decided_at: isoOrNull(row.decided_at),
    decision_comment: row.decision_comment,
    apply_state: row.apply_state as ApplyState,
    applied_at: isoOrNull(row.applied_at),
    kind: row.kind as ApprovalKind,
    required_approvals: Number(row.required_approvals),
    approver_roles: parsed<string[] | null>(row.approver_roles, null),
    approvals: votes.map((v) => ({
      by: v.voter,
      by_tenant: v.voter_tenant,
      at: iso(Number(v.at)),
      comment: v.comment,
    })),
    gates: parsed<GateResultDto[]>(row.gates, []),
    expires_at: isoOrNull(row.expires_at),
    artifact_sha256: row.artifact_sha256,
    target_alias: row.target_alias,
    apply_error:
      row.apply_error_code === null
        ? null
        : { code: row.apply_error_code, message: row.last_apply_error ?? '' },
  };
}
