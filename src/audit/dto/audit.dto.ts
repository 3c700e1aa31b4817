import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsIntInRange } from '../../common/validation/int-range';
import { Transform } from 'class-transformer';
import { IsOptional, IsString, Matches, MaxLength } from 'class-validator';
import { TenantQueryDto } from '../../common/validation/tenant-query.dto';
import { toInteger } from '../../common/validation/params.dto';
import { HistoryEvent } from '../../database/schema';
import { Stage } from '../../mlflow/registry-types';

export const AUDIT_PAGE_LIMIT = 1000;
export class ListAuditQueryDto extends TenantQueryDto {
  @ApiPropertyOptional({
    type: 'integer',
    description: `Page size, 1 to ${AUDIT_PAGE_LIMIT}`,
    minimum: 1,
    maximum: AUDIT_PAGE_LIMIT,
    default: 100,
    example: 100,
  })
  @IsOptional()
  @Transform(toInteger)
  @IsIntInRange('max_results', 1, AUDIT_PAGE_LIMIT)
  max_results?: number;

  @ApiPropertyOptional({
    type: String,
    description: 'The `next_page_token` of the previous page',
    maxLength: 2048,
  })
  @IsOptional()
  @IsString()
  @MaxLength(2048)
  @Matches(/^[A-Za-z0-9_-]+$/, { message: 'page_token is not a token this service issued' })
  page_token?: string;
}

/**
 * One history entry as stored, with its place in the tenant's chain. Every field but `id`,
 * `hash` and `timestamp` is what the hash covers: `hash` is sha256(`prev_hash` + the canonical
 * JSON of those fields) — README "Audit chain".
 */
export class AuditEntryDto {
  /** The database id (not hashed). @example 42 */
  id!: number;
  /** The entry's place in the tenant's chain: 1, 2, 3, ... without gaps. @example 7 */
  seq!: number;
  /** @example "acme-corp" */
  tenant_id!: string;
  /** Empty for a tenant-level entry. @example "churn-predictor" */
  model_name!: string;
  /** The model incarnation (a model deleted and registered again gets a new one); empty for a tenant-level entry. @example "9b1f0c2e-2d4a-4c8e-a1f7-3e5d6c7b8a90" */
  model_uid!: string;
  /** 0 for an entry about a whole model or the tenant. @example 2 */
  version!: number;
  @ApiProperty({ enum: HistoryEvent, enumName: 'HistoryEvent', example: HistoryEvent.Transition })
  event!: HistoryEvent;
  @ApiProperty({ enum: Stage, enumName: 'Stage', nullable: true, example: Stage.Staging })
  from_stage!: Stage | null;
  @ApiProperty({ enum: Stage, enumName: 'Stage', nullable: true, example: Stage.Production })
  to_stage!: Stage | null;
  /** @example "bob" */
  actor!: string;
  /** As stored: null in entries recorded before the service kept it (read it as `tenant_id`). @example "acme-corp" */
  actor_tenant!: string | null;
  /** When, in milliseconds since the epoch (UTC), as hashed. @example 1742036400000 */
  at!: number;
  /** `at` in ISO 8601 (not hashed). @example "2025-03-15T11:00:00.000Z" */
  timestamp!: string;
  /** @example "Validated on holdout set with 0.91 F1 score" */
  comment!: string | null;
  /** @example "3f6d1c2e-8a4b-4f0e-9d7c-1b2a3c4d5e6f" */
  approval_id!: string | null;
  /** @example "alice" */
  requested_by!: string | null;
  /** @example "acme-corp" */
  requested_by_tenant!: string | null;
  /** @example "bob" */
  approved_by!: string | null;
  /** @example "acme-corp" */
  approved_by_tenant!: string | null;
  /** Structured facts of the entry: a JSON object's text exactly as stored and hashed, or null. @example null */
  details!: string | null;
  /** The previous entry's hash; 64 zeros for the tenant's first. @example "5d41402abc4b2a76b9719d911017c592ae1a3f0c2f5b8e9d7c6a5b4f3e2d1c0b" */
  prev_hash!: string;
  /** sha256(prev_hash + canonical JSON of the entry), lowercase hex. @example "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08" */
  hash!: string;
}

export class AuditPageDto {
  /** Oldest first (by seq). */
  entries!: AuditEntryDto[];
  /** Pass as `page_token` for the next page; absent on the last page. @example "eyJ2IjoxLCJzIjoxMDB9" */
  next_page_token?: string;
}

export class ChainBreakDto {
  /** The first entry that does not hold; null when the break is past the last entry and none is left. @example 42 */
  id!: number | null;
  /** What failed, in a sentence. @example "hash mismatch: entry 42 (seq 7) stores hash 9f86d0…, but its content hashes to 2c26b4… (the entry was changed after it was written)" */
  reason!: string;
}

export class AuditVerificationDto {
  /** Whether the whole chain holds, up to the recorded head. @example true */
  ok!: boolean;
  /** How many entries were checked and hold (before the first bad one when ok is false). @example 1250 */
  entries!: number;
  /** The hash of the last entry that holds (the chain's head when ok); null when none. @example "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08" */
  head!: string | null;
  /** The first break, when ok is false; null when ok. */
  @ApiProperty({ type: ChainBreakDto, nullable: true })
  first_bad!: ChainBreakDto | null;
}
