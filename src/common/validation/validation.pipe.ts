import { ArgumentMetadata, ValidationError, ValidationPipe } from '@nestjs/common';
import { RegistryError } from '../errors/registry-error';
import { memoKey, ValidatedMemo } from '../fast-path';
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
export class RegistryValidationPipe extends ValidationPipe {
  private readonly memo = new ValidatedMemo();

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
    // (A remembered value passed every check below, the NUL one included.)
    const hit = key === undefined ? undefined : this.memo.get(metatype, key);
    if (hit !== undefined) return hit;
    if (metadata.type === 'body' || metadata.type === 'query' || metadata.type === 'param') {
      const field = findNulCharacter(value, metadata.data ?? '');
      if (field !== undefined) {
        const message = nulMessage(field);
        throw RegistryError.validation(message, { fields: [message] });
      }
    }
    const entity = (await super.transform(value, metadata)) as unknown;
    if (key !== undefined && typeof entity === 'object' && entity !== null) {
      this.memo.remember(metatype, key, entity);
    }
    return entity;
  }
}

export function createValidationPipe(): ValidationPipe {
  return new RegistryValidationPipe();
}
