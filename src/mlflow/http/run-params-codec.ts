import type { ParamValue } from '../registry-types';
import type { MlflowParam, MlflowTag } from './mlflow-mapper';

/**
 * MLflow keeps every run parameter as a string; the service's parameters are JSON strings,
 * numbers and booleans (`config.json`'s hyperparameters) and must read back as they were
 * written. Their types ride along in run tags `registry.param_types.<n>`, each a JSON list of
 * `[name, "n" | "b"]` pairs (strings are not listed), so MLflow's UI still shows the plain
 * values.
 */
export const PARAM_TYPES_TAG = 'registry.param_types.';
/** Keeps each tag's value well under MLflow's limit on the length of a tag value. */
const TAG_CHUNK_CHARS = 4000;

/** The parameters as MLflow stores them, and the tags that carry their types. */
export function encodeParams(params: Record<string, ParamValue>): {
  params: MlflowParam[];
  typeTags: MlflowTag[];
} {
  const typed = Object.entries(params)
    .filter(([, v]) => typeof v !== 'string')
    .map(([k, v]) => [k, typeof v === 'number' ? 'n' : 'b']);
  const typeTags: MlflowTag[] = [];
  let chunk: string[][] = [];
  const flush = (): void => {
    if (chunk.length > 0) {
      typeTags.push({
        key: `${PARAM_TYPES_TAG}${typeTags.length}`,
        value: JSON.stringify(chunk),
      });
    }
    chunk = [];
  };
  for (const entry of typed) {
    if (JSON.stringify([...chunk, entry]).length > TAG_CHUNK_CHARS) flush();
    chunk.push(entry);
  }
  flush();
  return {
    params: Object.entries(params).map(([key, value]) => ({ key, value: String(value) })),
    typeTags,
  };
}

/**
 * A run's parameters with their types restored from its tags. A parameter no type tag names is
 * a string (as is everything MLflow's own clients log); an unreadable type tag is reported to
 * `onUnreadable` and the parameters it would have typed stay strings, rather than fail the read.
 */
export function decodeParams(
  params: MlflowParam[] | undefined,
  tags: MlflowTag[] | undefined,
  onUnreadable: (tagKey: string) => void,
): Record<string, ParamValue> {
  const types = new Map<string, string>();
  for (const tag of tags ?? []) {
    if (!tag.key.startsWith(PARAM_TYPES_TAG)) continue;
    try {
      for (const [k, t] of JSON.parse(tag.value ?? '[]') as [string, string][]) types.set(k, t);
    } catch {
      onUnreadable(tag.key);
    }
  }
  const out: Record<string, ParamValue> = {};
  for (const { key, value } of params ?? []) {
    const type = types.get(key);
    out[key] = type === 'n' ? Number(value) : type === 'b' ? value === 'true' : value;
  }
  return out;
}
