import { ApiProperty } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { IsInt, Matches, Max, Min } from 'class-validator';

export const MODEL_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
export const MODEL_NAME_MESSAGE =
  "name must match ^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$ (a letter or digit, then up to 127 letters, digits, '.', '_' or '-')";
/** The largest version number (a 32-bit signed integer, as MLflow stores it). */
export const MAX_VERSION = 2_147_483_647;

/** Turns a string of digits into a number; leaves anything else for the validator to reject. */
export const toInteger = ({ value }: { value: unknown }): unknown =>
  typeof value === 'string' && /^-?\d{1,15}$/.test(value) ? Number(value) : value;

export class ModelParams {
  @ApiProperty({
    description: 'Model name',
    example: 'churn-predictor',
    pattern: MODEL_NAME_PATTERN.source,
    maxLength: 128,
  })
  @Matches(MODEL_NAME_PATTERN, { message: MODEL_NAME_MESSAGE })
  name!: string;
}

export class VersionParams extends ModelParams {
  @ApiProperty({
    type: 'integer',
    description: 'Version number',
    example: 3,
    minimum: 1,
    maximum: MAX_VERSION,
  })
  @Transform(toInteger)
  @IsInt({ message: 'version must be a positive integer' })
  @Min(1, { message: 'version must be a positive integer' })
  @Max(MAX_VERSION, { message: 'version must be a positive integer' })
  version!: number;
}
