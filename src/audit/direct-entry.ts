import type { Caller } from '../common/auth/caller.decorator';
import type { HistoryEvent } from '../database/schema';
import type { Stage } from '../mlflow/registry-types';
import type { HistoryEntry } from './history.repository';

/** Where an entry goes: a version of a model (the model's uid tells it from a re-created one). */
export interface EntryPlace {
  model: string;
  uid: string;
  version: number;
}

/**
 * The history entry of a change a caller made directly, under no approval request (a
 * deletion, an alias change): the caller is its actor, nobody requested or approved it.
 */
export function directEntry(
  caller: Caller,
  place: EntryPlace,
  event: HistoryEvent,
  fields: { from_stage?: Stage | null; to_stage?: Stage | null; comment: string | null },
): HistoryEntry {
  return {
    tenant_id: caller.tenant,
    model_name: place.model,
    model_uid: place.uid,
    version: place.version,
    event,
    from_stage: fields.from_stage ?? null,
    to_stage: fields.to_stage ?? null,
    actor: caller.principal.subject,
    actor_tenant: caller.principal.tenantId,
    at: Date.now(),
    comment: fields.comment,
    approval_id: null,
    requested_by: null,
    requested_by_tenant: null,
    approved_by: null,
    approved_by_tenant: null,
  };
}
