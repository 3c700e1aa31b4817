import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsIntInRange } from '../../common/validation/int-range';
import { Transform } from 'class-transformer';
import {
  IsBoolean,
  IsEnum,
  IsOptional,
  IsString,
  IsUUID,
  Matches,
  MaxLength,
} from 'class-validator';
import { ApprovalKind, ApprovalStatus } from '../../database/schema';
import { TenantQueryDto } from '../../common/validation/tenant-query.dto';
import {
  MODEL_NAME_MESSAGE,
  MODEL_NAME_PATTERN,
  toInteger,
} from '../../common/validation/params.dto';
import { lowerCase } from '../../common/validation/transforms';

export class ListApprovalsQueryDto extends TenantQueryDto {
  @ApiPropertyOptional({
    enum: ApprovalStatus,
    enumName: 'ApprovalStatus',
    description: 'Only requests in this status',
  })
  @IsOptional()
  @Transform(lowerCase)
  @IsEnum(ApprovalStatus, {
    message: 'status must be one of pending, approved, rejected, cancelled, expired',
  })
  status?: ApprovalStatus;

  @ApiPropertyOptional({
    type: String,
    // No example: Swagger UI would fill it in, and Try it out would list one model's requests only.
    description: 'Only requests for this model, e.g. churn-predictor',
    pattern: MODEL_NAME_PATTERN.source,
    maxLength: 128,
  })
  @IsOptional()
  @Matches(MODEL_NAME_PATTERN, { message: MODEL_NAME_MESSAGE.replace(/^name/, 'model') })
  model?: string;

  @ApiPropertyOptional({
    enum: ApprovalKind,
    enumName: 'ApprovalKind',
    description: 'Only requests of this kind',
  })
  @IsOptional()
  @Transform(lowerCase)
  @IsEnum(ApprovalKind, { message: 'kind must be one of promotion, demotion, rollback' })
  kind?: ApprovalKind;

  @ApiPropertyOptional({
    type: String,
    description: 'Only requests made by this user (their `sub`)',
    maxLength: 256,
  })
  @IsOptional()
  @IsString({ message: 'requested_by must be a string' })
  @MaxLength(256, { message: 'requested_by must be at most 256 characters' })
  requested_by?: string;

  @ApiPropertyOptional({
    type: Boolean,
    description:
      'true: only the pending requests the caller may still vote on (not their own, not voted yet, holding one of the approver roles, not expired)',
  })
  @IsOptional()
  @Transform(({ value }: { value: unknown }) =>
    value === 'true' ? true : value === 'false' ? false : value,
  )
  @IsBoolean({ message: 'awaiting_me must be true or false' })
  awaiting_me?: boolean;

  @ApiPropertyOptional({
    type: 'integer',
    description: 'Page size, 1 to 1000',
    minimum: 1,
    maximum: 1000,
    default: 100,
    example: 100,
  })
  @IsOptional()
  @Transform(toInteger)
  @IsIntInRange('max_results', 1, 1000)
  max_results?: number;

  @ApiPropertyOptional({
    type: String,
    description: 'The `next_page_token` of the previous page',
    maxLength: 512,
  })
  @IsOptional()
  @MaxLength(512)
  @IsString()
  page_token?: string;
}

/** What class-validator's isUUID('4') accepts. */
export const UUID_V4_PATTERN =
  '^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-4[0-9a-fA-F]{3}-[89abAB][0-9a-fA-F]{3}-[0-9a-fA-F]{12}$';

export class ApprovalParams {
  @ApiProperty({
    type: String,
    format: 'uuid',
    description:
      'Approval request id (a version 4 UUID). Case-insensitive, as UUIDs are (RFC 9562): ' +
      'uppercase hex finds the same request; ids are answered in lowercase.',
    example: '3f6d1c2e-8a4b-4f0e-9d7c-1b2a3c4d5e6f',
    pattern: UUID_V4_PATTERN,
  })
  // Ids are stored as issued, lowercase, and both databases compare text case-sensitively.
  @Transform(lowerCase)
  @IsUUID('4', { message: 'id must be a UUID' })
  id!: string;
}
