/**
 * What producers use: record events in the transaction of the change they report.
 *
 *   await this.database.transaction(async (trx) => {
 *     await this.history.append(entries, trx);
 *     await EventOutbox.record(trx, [approvalEvent('approval.approved', tenant, mapApproval(row))]);
 *   });
 *
 * One builder per kind: modelEvent, versionEvent, stageChangedEvent, approvalEvent,
 * artifactUploadedEvent. A change made on MLflow under an intent puts its events in the intent
 * (`Intent.events`): IntentsRepository records them with the intent's history entries.
 */
export { EventOutbox } from './event-outbox';
export {
  ALL_EVENTS,
  approvalEvent,
  artifactUploadedEvent,
  EVENT_TYPES,
  modelEvent,
  policyEvent,
  stageChangedEvent,
  versionEvent,
  type ApprovalEventType,
  type EventActor,
  type EventPayload,
  type EventType,
  type NewEvent,
} from './event-types';
