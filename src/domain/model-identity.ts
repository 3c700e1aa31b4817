import type { Frozen } from '../common/fast-path';
import type { RegisteredModelRecord } from '../mlflow/registry-types';
import { SERVICE_TAGS } from './service-tags';

/**
 * The identity of a model incarnation: a model deleted and created again under the same name is
 * another model, with a history of its own. Kept in a hidden tag; a model made before the tag
 * existed is named by its creation time.
 */
export function modelUid(model: Frozen<RegisteredModelRecord>): string {
  return model.tags[SERVICE_TAGS.modelUid] ?? `created-${model.createdAt}`;
}
