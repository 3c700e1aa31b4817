import { load as loadYaml } from 'js-yaml';
import { RegistryError } from '../common/errors/registry-error';
import { problemWithMap } from '../common/validation/maps';
import type { ParamValue } from '../mlflow/registry-types';

/**
 * JSON text as RFC 8259 §8.1 has it: UTF-8 (bytes that are not UTF-8 are refused, never
 * replaced with U+FFFD), and a leading byte order mark is ignored, as the JSON request bodies'
 * parser ignores it.
 */
function parseObject(file: string, bytes: Buffer): Record<string, unknown> {
  const text = utf8Text(file, bytes);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw RegistryError.validation(`${file} is not valid JSON`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw RegistryError.validation(`${file} must hold a JSON object`);
  }
  return value as Record<string, unknown>;
}

/** metrics.json: a flat object of finite numbers, e.g. {"f1_score": 0.912}. */
export function parseMetricsDocument(bytes: Buffer): Record<string, number> {
  const doc = parseObject('metrics.json', bytes);
  const problem = problemWithMap(doc, 'metrics');
  if (problem !== undefined) throw RegistryError.validation(`metrics.json ${problem}`);
  return doc as Record<string, number>;
}

/**
 * config.json: `{"hyperparameters": {...}, ...other metadata}`. The hyperparameters become the
 * version's parameters and must be strings, numbers or booleans.
 */
export function parseConfigDocument(bytes: Buffer): {
  hyperparameters: Record<string, ParamValue>;
} {
  const doc = parseObject('config.json', bytes);
  const hp = doc['hyperparameters'];
  if (hp === undefined) return { hyperparameters: {} };
  const problem = problemWithMap(hp, 'params');
  if (problem !== undefined)
    throw RegistryError.validation(`config.json hyperparameters ${problem}`);
  return { hyperparameters: hp as Record<string, ParamValue> };
}

/**
 * An MLflow model's YAML files (`MLmodel`, `conda.yaml`, `python_env.yaml`): UTF-8, one YAML
 * document holding a mapping. `MLmodel` must name its flavors (MLflow loads a model by them).
 */
export function checkYamlDocument(file: string, bytes: Buffer): void {
  const text = utf8Text(file, bytes);
  let value: unknown;
  try {
    value = loadYaml(text);
  } catch {
    throw RegistryError.validation(`${file} is not valid YAML`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw RegistryError.validation(`${file} must hold a YAML mapping`);
  }
  const flavors = (value as Record<string, unknown>)['flavors'];
  if (
    file === 'MLmodel' &&
    (typeof flavors !== 'object' || flavors === null || Array.isArray(flavors))
  ) {
    throw RegistryError.validation('MLmodel must have a `flavors` mapping');
  }
}

export function checkTextDocument(file: string, bytes: Buffer): void {
  utf8Text(file, bytes);
}

/** Fails on bytes that are not UTF-8; drops a leading byte order mark (`ignoreBOM: false`). */
const UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });

function utf8Text(file: string, bytes: Buffer): string {
  try {
    return UTF8.decode(bytes);
  } catch {
    throw RegistryError.validation(`${file} must be UTF-8 text`);
  }
}
