import { ValidationError, ValidationPipe } from '@nestjs/common';
import { RegistryError } from '../errors/registry-error';

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
 * transforms to DTO classes, and reports every problem with the field's path.
 */
export function createValidationPipe(): ValidationPipe {
  return new ValidationPipe({
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
