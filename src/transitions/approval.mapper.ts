import { ApprovalRow } from './approvals.repository';
import { ApplyState, ApprovalStatus } from '../database/schema';
import type { Stage } from '../mlflow/registry-types';
import { iso } from '../common/time';
import type { ApprovalDto } from './dto/approval.dto';
import { deciderOf, requesterOf } from './principals';

const isoOrNull = (ms: number | null): string | null => (ms === null ? null : iso(Number(ms)));

export function mapApproval(row: ApprovalRow): ApprovalDto {
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
  };
}
