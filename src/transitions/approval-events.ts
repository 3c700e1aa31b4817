import type { Db } from '../database/database';
import { approvalEvent, type ApprovalEventType, type NewEvent } from '../events';
import { mapApproval } from './approval.mapper';
import type { ApprovalsRepository } from './approvals.repository';

/**
 * The `approval.*` event of a request as it stands in `db` (the transaction that changed it),
 * with its votes: the request as the API returns it.
 */
export async function approvalEventIn(
  repository: ApprovalsRepository,
  db: Db,
  type: ApprovalEventType,
  tenant: string,
  id: string,
  extra: object = {},
): Promise<NewEvent> {
  const row = await repository.find(tenant, id, db);
  if (row === undefined) throw new Error(`approval ${id} vanished inside its own transaction`);
  const votes = await repository.votesOf([id], db);
  return approvalEvent(type, tenant, mapApproval(row, votes.get(id) ?? []), extra);
}
