import { ApiProperty } from '@nestjs/swagger';
import { IsInt, IsString, Matches, Max, MaxLength, Min } from 'class-validator';
import { MAX_VERSION } from '../../common/validation/params.dto';

export class RollbackDto {
  /** The version to go back to: one that was in production before. @example 2 */
  @ApiProperty({ type: 'integer', minimum: 1, maximum: MAX_VERSION, example: 2 })
  @IsInt({ message: 'to_version must be a positive integer' })
  @Min(1, { message: 'to_version must be a positive integer' })
  @Max(MAX_VERSION, { message: 'to_version must be a positive integer' })
  to_version!: number;

  /** Why (required): the rollback's history says it. @example "v3 doubles p99 latency in serving" */
  @IsString({ message: 'reason must be a string' })
  @MaxLength(5000, { message: 'reason must be at most 5000 characters' })
  @Matches(/\S/, { message: 'reason must not be empty' })
  reason!: string;
}
