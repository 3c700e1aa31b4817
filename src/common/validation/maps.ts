import { Transform } from 'class-transformer';
import { registerDecorator, ValidationArguments, ValidationOptions } from 'class-validator';

/** MLflow's rule for tag, metric and parameter keys (and our limit on their length). */
export const KEY_PATTERN = /^[A-Za-z0-9_\-./ ]{1,250}$/;
/** Tag keys the service writes itself; a client may neither set nor remove them. */
export const RESERVED_TAG_PREFIXES = ['registry.', 'mlflow.'];
export const MAX_TAG_VALUE_LENGTH = 5000;
export const MAX_PARAM_STRING_LENGTH = 6000;
export const MAX_MAP_ENTRIES = 100;

type EntryCheck = (key: string, value: unknown) => string | undefined;

function checkMap(value: unknown, check: EntryCheck): string | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return 'must be an object';
  }
  const entries = Object.entries(value);
  if (entries.length > MAX_MAP_ENTRIES) return `must have at most ${MAX_MAP_ENTRIES} entries`;
  for (const [key, entry] of entries) {
    // An own '__proto__' key (JSON.parse makes one) would replace the prototype of every
    // object the map is copied into; bodies refuse all three (see deferred-body-parser.ts).
    if (key === '__proto__' || key === 'constructor' || key === 'prototype') {
      return `has the key '${key}', which is not allowed`;
    }
    if (!KEY_PATTERN.test(key)) {
      return `has an invalid key '${key.slice(0, 50)}': keys are 1-250 letters, digits, '_', '-', '.', '/' or spaces`;
    }
    // PostgreSQL cannot store U+0000 (see nul-characters.ts); uploads' metrics.json and
    // config.json reach this check without going through the validation pipe.
    if (typeof entry === 'string' && entry.includes('\u0000')) {
      return `value of '${key}' must not contain the NUL character (\\u0000)`;
    }
    const problem = check(key, entry);
    if (problem !== undefined) return problem;
  }
  return undefined;
}

function mapDecorator(name: string, check: EntryCheck, options?: ValidationOptions) {
  return (object: object, propertyName: string): void => {
    // Keep the map exactly as sent: class-transformer would silently drop keys that name
    // Object.prototype members ('constructor', 'toString', ...).
    Transform(({ obj, key }: { obj: Record<string, unknown>; key: string }) => obj[key])(
      object,
      propertyName,
    );
    registerDecorator({
      name,
      target: object.constructor,
      propertyName,
      options,
      validator: {
        validate: (value: unknown) => checkMap(value, check) === undefined,
        defaultMessage: (args: ValidationArguments) =>
          `${args.property} ${checkMap(args.value, check) ?? 'is invalid'}`,
      },
    });
  };
}

const reserved = (key: string): boolean => RESERVED_TAG_PREFIXES.some((p) => key.startsWith(p));

const tagEntry =
  (allowNull: boolean): EntryCheck =>
  (key, value) => {
    if (reserved(key))
      return `key '${key}' is reserved for the service (prefixes ${RESERVED_TAG_PREFIXES.join(', ')})`;
    if (value === null && allowNull) return undefined;
    if (typeof value !== 'string') {
      return `value of '${key}' must be a string${allowNull ? ' (or null to remove the tag)' : ''}`;
    }
    if (value.length > MAX_TAG_VALUE_LENGTH) {
      return `value of '${key}' must be at most ${MAX_TAG_VALUE_LENGTH} characters`;
    }
    return undefined;
  };

export const metricEntry: EntryCheck = (key, value) =>
  typeof value === 'number' && Number.isFinite(value)
    ? undefined
    : `value of '${key}' must be a finite number`;

export const paramEntry: EntryCheck = (key, value) => {
  if (typeof value === 'number')
    return Number.isFinite(value) ? undefined : `value of '${key}' must be finite`;
  if (typeof value === 'boolean') return undefined;
  if (typeof value === 'string') {
    return value.length <= MAX_PARAM_STRING_LENGTH
      ? undefined
      : `value of '${key}' must be at most ${MAX_PARAM_STRING_LENGTH} characters`;
  }
  return `value of '${key}' must be a string, number or boolean`;
};

/** `{key: "value"}` tags. */
export const IsTagMap = (options?: ValidationOptions) =>
  mapDecorator('isTagMap', tagEntry(false), options);
/** `{key: "value" | null}`: null removes the tag. */
export const IsTagPatch = (options?: ValidationOptions) =>
  mapDecorator('isTagPatch', tagEntry(true), options);
/** `{name: number}` metrics. */
export const IsMetricMap = (options?: ValidationOptions) =>
  mapDecorator('isMetricMap', metricEntry, options);
/** `{name: string | number | boolean}` parameters. */
export const IsParamMap = (options?: ValidationOptions) =>
  mapDecorator('isParamMap', paramEntry, options);

/** The first problem of a JSON document meant as a metric or parameter map, for uploads. */
export function problemWithMap(value: unknown, kind: 'metrics' | 'params'): string | undefined {
  return checkMap(value, kind === 'metrics' ? metricEntry : paramEntry);
}
