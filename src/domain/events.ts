import type { Caller } from '../common/auth/caller.decorator';
import type { VersionDto } from '../versions/dto/version.dto';

/**
 * What happened in one feature that others react to, without the one importing the others. The
 * names are the events issue's (`model.deleted`, ...): its webhooks will be fed from here.
 */
export interface DomainEventMap {
  /** A model, or one version of it (`version` set), was deleted from the registry backend. */
  'model.deleted': ModelDeleted;
  /**
   * A version was registered, or its metadata edited: rules may act on it (auto-promotion to
   * staging). A handler that moves it sets `version` to the moved version, which the request
   * answers.
   */
  'model_version.changed': ModelVersionChanged;
}

export interface ModelVersionChanged {
  actor: Caller;
  tenant: string;
  cause: 'registered' | 'updated';
  version: VersionDto;
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
