import { applyDecorators } from '@nestjs/common';
import { IsInt, Max, Min } from 'class-validator';

/**
 * An integer from `min` to `max`: one message naming the field and its range, whichever of the
 * three checks fails (a clumsy client gets the same sentence for 0, 1.5 and 10,000).
 */
export function IsIntInRange(field: string, min: number, max: number): PropertyDecorator {
  const message = `${field} must be an integer from ${min} to ${max}`;
  return applyDecorators(IsInt({ message }), Min(min, { message }), Max(max, { message }));
}
