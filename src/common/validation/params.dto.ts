import { Transform } from 'class-transformer';
import { IsInt, Matches, Max, Min } from 'class-validator';

export const MODEL_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
export const MODEL_NAME_MESSAGE =
  "name must match ^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$ (a letter or digit, then up to 127 letters, digits, '.', '_' or '-')";

/** Turns a string of digits into a number; leaves anything else for the validator to reject. */
export const toInteger = ({ value }: { value: unknown }): unknown =>
  typeof value === 'string' && /^-?\d{1,15}$/.test(value) ? Number(value) : value;

export class ModelParams {
  /** Model name. @example "churn-predictor" */
  @Matches(MODEL_NAME_PATTERN, { message: MODEL_NAME_MESSAGE })
  name!: string;
}

export class VersionParams extends ModelParams {
  /** Version number. @example 3 */
  @Transform(toInteger)
  @IsInt({ message: 'version must be a positive integer' })
  @Min(1, { message: 'version must be a positive integer' })
  @Max(2_147_483_647, { message: 'version must be a positive integer' })
  version!: number;
}
