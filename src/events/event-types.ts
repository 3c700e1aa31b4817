import { randomBytes } from 'node:crypto';
import { iso } from '../common/time';

/**
 * Every event a webhook may subscribe to (names binding, issue 17). `webhook.test` is sent only
 * by POST /webhooks/{id}/test, to that webhook.
 */
export const EVENT_TYPES = [
  'model.created',
  'model.deleted',
  'model_version.created',
  'model_version.updated',
  'model_version.stage_changed',
  'model_version.deleted',
  'approval.requested',
  'approval.vote_added',
  'approval.approved',
  'approval.rejected',
  'approval.cancelled',
  'approval.expired',
  'approval.applied',
  'artifact.uploaded',
  // Governance: a promotion policy set or removed (tenant or model).
  'policy.updated',
  'policy.deleted',
] as const;

export type EventType = (typeof EVENT_TYPES)[number];
/** What a webhook's `events` may hold: event types, or `*` for every one. */
export const ALL_EVENTS = '*';

export type ApprovalEventType = Extract<EventType, `approval.${string}`>;

/** The body every receiver gets (Standard Webhooks payload). */
export interface EventPayload {
  id: string;
  type: EventType | 'webhook.test';
  tenant_id: string;
  occurred_at: string;
  data: object;
}

/**
 * An event to record: its payload, and what orders it (the model: a model's events reach each
 * webhook in the order they were recorded; null for events of no model).
 */
export interface NewEvent {
  payload: EventPayload;
  orderKey: string | null;
}

export function newEventId(): string {
  return `evt_${randomBytes(16).toString('hex')}`;
}

/** Deliveries of one model's events keep their order; the key names (tenant, model). */
export function modelOrderKey(tenant: string, model: string): string {
  return JSON.stringify([tenant, model]);
}

function event(
  type: EventType | 'webhook.test',
  tenant: string,
  data: object,
  orderKey: string | null,
  at = Date.now(),
): NewEvent {
  return {
    payload: { id: newEventId(), type, tenant_id: tenant, occurred_at: iso(at), data },
    orderKey,
  };
}

// ---- one builder per kind of event: a producer writes `EventOutbox.record(trx, [builder(...)])` ----

/** `model.created` / `model.deleted`: `model` is the model as the API returns it (ModelSummaryDto). */
export function modelEvent(
  type: 'model.created' | 'model.deleted',
  tenant: string,
  model: { name: string } & object,
  extra: object = {},
): NewEvent {
  return event(type, tenant, { ...model, ...extra }, modelOrderKey(tenant, model.name));
}

/** `model_version.created|updated|deleted`: `version` is the VersionDto. */
export function versionEvent(
  type: 'model_version.created' | 'model_version.updated' | 'model_version.deleted',
  tenant: string,
  version: { name: string; version: number } & object,
  extra: object = {},
): NewEvent {
  return event(type, tenant, { ...version, ...extra }, modelOrderKey(tenant, version.name));
}

/** Who made a change, as the history names people: (tenant, sub). */
export interface EventActor {
  subject: string;
  tenantId: string;
}

/**
 * `model_version.stage_changed`: the version as the API returns it after the move, with
 * `from_stage`, `to_stage`, `actor` and `actor_tenant` (and the approval that made it, if one
 * did: `approval_id`).
 */
export function stageChangedEvent(
  tenant: string,
  version: { name: string; version: number } & object,
  change: {
    from: string | null;
    to: string;
    actor: EventActor;
    comment?: string | null;
    approvalId?: string | null;
  },
): NewEvent {
  return event(
    'model_version.stage_changed',
    tenant,
    {
      ...version,
      from_stage: change.from,
      to_stage: change.to,
      actor: change.actor.subject,
      actor_tenant: change.actor.tenantId,
      comment: change.comment ?? null,
      approval_id: change.approvalId ?? null,
    },
    modelOrderKey(tenant, version.name),
  );
}

/**
 * `approval.requested|vote_added|approved|rejected|cancelled|expired|applied`: `approval` is
 * the ApprovalDto (its `model` orders it with the model's other events). For the workflow:
 * `await EventOutbox.record(trx, [approvalEvent('approval.approved', tenant, mapApproval(row))])`
 * in the transaction that writes the decision's history entry.
 */
export function approvalEvent(
  type: ApprovalEventType,
  tenant: string,
  approval: { model: string } & object,
  extra: object = {},
): NewEvent {
  return event(type, tenant, { ...approval, ...extra }, modelOrderKey(tenant, approval.model));
}

/**
 * `policy.updated` / `policy.deleted`: the policy as GET answers it (deleted: its stage and
 * model); a model's policy in the model's order, the tenant's in none.
 */
export function policyEvent(
  type: 'policy.updated' | 'policy.deleted',
  tenant: string,
  policy: { stage: string; model: string | null } & object,
  actor: EventActor,
): NewEvent {
  return event(
    type,
    tenant,
    { ...policy, actor: actor.subject, actor_tenant: actor.tenantId },
    policy.model === null ? null : modelOrderKey(tenant, policy.model),
  );
}

/** `artifact.uploaded`: the manifest as the API returns it; in no model's order. */
export function artifactUploadedEvent(tenant: string, manifest: object): NewEvent {
  return event('artifact.uploaded', tenant, manifest, null);
}

/** `webhook.test`: sent to one webhook by POST /webhooks/{id}/test. */
export function testEvent(tenant: string, webhookId: string): NewEvent {
  return event(
    'webhook.test',
    tenant,
    { webhook_id: webhookId, message: 'a test event from the model registry' },
    null,
  );
}
