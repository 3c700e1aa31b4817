import type { Caller } from '../common/auth/caller.decorator';

/**
 * What happened in one feature that others react to, without the one importing the others. The
 * names are the events issue's (`model.deleted`, ...): its webhooks will be fed from here.
 */
export interface DomainEventMap {
  /** A model, or one version of it (`version` set), was deleted from the registry backend. */
  'model.deleted': ModelDeleted;
}

export interface ModelDeleted {
  actor: Caller;
  tenant: string;
  model: string;
  /** The identity of the deleted model (a re-created one of the same name has another). */
  modelUid: string;
  /** The deleted version; undefined when the whole model was deleted. */
  version?: number;
  /** Why, in words: the comment the consequences record ('model deleted'). */
  reason: string;
}
