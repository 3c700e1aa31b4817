import { ValidateIf } from 'class-validator';

/**
 * Like @IsOptional() for request bodies, but only an absent field is skipped: an explicit
 * `null` is validated like any other value (and so rejected with a 400 naming the field),
 * instead of slipping through to the database.
 */
export const Optional = (): PropertyDecorator =>
  ValidateIf((_object, value) => value !== undefined);
