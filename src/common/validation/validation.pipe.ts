import { ArgumentMetadata, ValidationError, ValidationPipe } from '@nestjs/common';
import { RegistryError } from '../errors/registry-error';
import { findNulCharacter, nulMessage } from './nul-characters';

function collect(errors: ValidationError[], parent: string, out: string[]): void {
  for (const error of errors) {
    const path = parent === '' ? error.property : `${parent}.${error.property}`;
    for (const message of Object.values(error.constraints ?? {})) {
      // class-validator starts messages with the bare property name; name the full path.
      out.push(
        message.startsWith(`${error.property} `)
          ? `${path}${message.slice(error.property.length)}`
          : message,
      );
    }
    if (error.children && error.children.length > 0) collect(error.children, path, out);
  }
}

export function describeValidationErrors(errors: ValidationError[]): string[] {
  const messages: string[] = [];
  collect(errors, '', messages);
  return messages;
}

/**
 * The one global pipe: strips nothing silently (unknown fields are a 400 naming them),
 * transforms to DTO classes, and reports every problem with the field's path. Before any of
 * that, a string holding U+0000 anywhere in the path parameters, the query or the body is a 400
 * naming the field (see nul-characters.ts).
 */
/** Path parameters and queries validated before, remembered: the same read costs no new check. */
export const VALIDATED_MEMO_MAX_ENTRIES = 10_000;

/**
 * The memo's key for a path parameter or query object whose values are all strings (or arrays of
 * strings, as Express parses repeated query keys); undefined for anything else, which is checked
 * every time. Validation of such values by the DTO classes here is a pure function of them.
 */
function memoKey(value: unknown, metadata: ArgumentMetadata): string | undefined {
  if (metadata.type !== 'param' && metadata.type !== 'query') return undefined;
  if (metadata.data !== undefined || metadata.metatype === undefined) return undefined;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  for (const v of Object.values(value)) {
    if (typeof v === 'string') continue;
    if (Array.isArray(v) && v.every((item) => typeof item === 'string')) continue;
    return undefined;
  }
  return `${metadata.type}\u0000${JSON.stringify(value)}`;
}

/** A shallow copy keeping the class (prototype) of the original. */
function copyOf(value: object): object {
  const prototype = Object.getPrototypeOf(value) as object | null;
  return Object.assign(Object.create(prototype) as object, value);
}

export class RegistryValidationPipe extends ValidationPipe {
  /** Per DTO class: memo key → the validated instance (copied out on every use). */
  private memo = new WeakMap<object, Map<string, object>>();
  private memoSize = 0;

  constructor() {
    super({
      whitelist: true,
      forbidNonWhitelisted: true,
      transform: true,
      stopAtFirstError: true,
      validationError: { target: false, value: false },
      exceptionFactory: (errors) => {
        const messages = describeValidationErrors(errors);
        return RegistryError.validation(messages.join('; '), { fields: messages });
      },
    });
  }

  override async transform(value: unknown, metadata: ArgumentMetadata): Promise<unknown> {
    const key = memoKey(value, metadata);
    const metatype = metadata.metatype as object;
    let perClass = key === undefined ? undefined : this.memo.get(metatype);
    const hit = key === undefined ? undefined : perClass?.get(key);
    // A shallow copy: a handler may set fields of its DTO without touching the remembered one.
    // (A remembered value passed every check below, the NUL one included.)
    if (hit !== undefined) return copyOf(hit);
    if (metadata.type === 'body' || metadata.type === 'query' || metadata.type === 'param') {
      const field = findNulCharacter(value, metadata.data ?? '');
      if (field !== undefined) {
        const message = nulMessage(field);
        throw RegistryError.validation(message, { fields: [message] });
      }
    }
    if (key === undefined) return super.transform(value, metadata) as Promise<unknown>;
    const entity = (await super.transform(value, metadata)) as unknown;
    if (typeof entity === 'object' && entity !== null) {
      if (this.memoSize >= VALIDATED_MEMO_MAX_ENTRIES) {
        // Rarely reached (a working set of 10,000 distinct reads): start again rather than
        // track recency on every hit.
        this.memo = new WeakMap();
        this.memoSize = 0;
        perClass = undefined;
      }
      if (perClass === undefined) {
        perClass = new Map();
        this.memo.set(metatype, perClass);
      }
      perClass.set(key, copyOf(entity));
      this.memoSize++;
      return entity;
    }
    return entity;
  }
}

export function createValidationPipe(): ValidationPipe {
  return new RegistryValidationPipe();
}
