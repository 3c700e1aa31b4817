import { ApiProperty } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { IsInt, IsString, Matches, Max, MaxLength, Min } from 'class-validator';
import { blankAsAbsent } from '../../common/validation/comments';
import { Optional } from '../../common/validation/optional';
import { MAX_VERSION, ModelParams } from '../../common/validation/params.dto';

/** The service's alias names: lowercase, so `@Champion` and `@champion` are never two aliases. */
export const ALIAS_PATTERN = /^[a-z][a-z0-9_-]{0,62}$/;
/**
 * What MLflow reserves (mlflow/utils/validation.py): `latest` in any case, and names a version
 * reference could mean (`v3`, `V3`; a bare `3` already fails the pattern's first letter).
 */
const NOT_RESERVED = /^(?!(latest|v\d+)$)/i;

export class AliasParams extends ModelParams {
  @ApiProperty({
    description:
      "Alias name: a lowercase letter, then up to 62 lowercase letters, digits, '_' or '-'; " +
      "not 'latest' nor a version reference such as v3 (MLflow reserves them)",
    example: 'champion',
    pattern: ALIAS_PATTERN.source,
    maxLength: 63,
  })
  @Matches(ALIAS_PATTERN, {
    message:
      "alias must match ^[a-z][a-z0-9_-]{0,62}$ (a lowercase letter, then up to 62 lowercase letters, digits, '_' or '-')",
  })
  @Matches(NOT_RESERVED, {
    message: "alias must not be 'latest' or look like a version number (v3): MLflow reserves them",
  })
  alias!: string;
}

export class SetAliasDto {
  @ApiProperty({
    type: 'integer',
    description: 'The version the alias points at from now on',
    example: 3,
    minimum: 1,
    maximum: MAX_VERSION,
  })
  @IsInt({ message: 'version must be a positive integer' })
  @Min(1, { message: 'version must be a positive integer' })
  @Max(MAX_VERSION, { message: 'version must be a positive integer' })
  version!: number;

  /**
   * Why (kept on the approval request when the alias is protected). Empty or only whitespace
   * counts as no comment. @example "Champion after the March A/B test"
   */
  @Transform(blankAsAbsent)
  @Optional()
  @MaxLength(5000)
  @IsString()
  comment?: string;
}
