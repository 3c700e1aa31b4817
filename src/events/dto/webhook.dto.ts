import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsIntInRange } from '../../common/validation/int-range';
import { Transform } from 'class-transformer';
import {
  ArrayMaxSize,
  ArrayNotEmpty,
  IsArray,
  IsBoolean,
  IsIn,
  IsOptional,
  IsString,
  Matches,
  MaxLength,
} from 'class-validator';
import { DeliveryStatus } from '../../database/schema';
import { toInteger } from '../../common/validation/params.dto';
import { TenantQueryDto } from '../../common/validation/tenant-query.dto';
import { ALL_EVENTS, EVENT_TYPES } from '../event-types';

const EVENT_NAMES = [ALL_EVENTS, ...EVENT_TYPES];
const EVENTS_MESSAGE = `each value in events must be one of ${EVENT_NAMES.join(', ')}`;

export class CreateWebhookDto {
  /**
   * Where events are POSTed: https (plain http only with WEBHOOKS_ALLOW_HTTP=true), a public
   * address. @example "https://ci.example/hooks/registry"
   */
  @IsString()
  @MaxLength(2048)
  url!: string;

  @ApiProperty({
    type: [String],
    description: `The event types to receive, or \`*\` for all: ${EVENT_NAMES.join(', ')}`,
    example: ['approval.requested', 'model_version.stage_changed'],
  })
  @IsArray()
  @ArrayNotEmpty({ message: 'events must name at least one event type (or *)' })
  @ArrayMaxSize(EVENT_NAMES.length)
  @IsIn(EVENT_NAMES, { each: true, message: EVENTS_MESSAGE })
  events!: string[];

  /** @example "Deploy pipeline: promote on production" */
  @IsOptional()
  @IsString()
  @MaxLength(500)
  description?: string;
}

export class UpdateWebhookDto {
  /** @example "https://ci.example/hooks/registry-v2" */
  @IsOptional()
  @IsString()
  @MaxLength(2048)
  url?: string;

  @ApiPropertyOptional({ type: [String], example: ['*'] })
  @IsOptional()
  @IsArray()
  @ArrayNotEmpty({ message: 'events must name at least one event type (or *)' })
  @ArrayMaxSize(EVENT_NAMES.length)
  @IsIn(EVENT_NAMES, { each: true, message: EVENTS_MESSAGE })
  events?: string[];

  /** false pauses deliveries (they wait); true resumes them. @example true */
  @IsOptional()
  @IsBoolean()
  active?: boolean;

  /** @example "Deploy pipeline" */
  @IsOptional()
  @IsString()
  @MaxLength(500)
  description?: string;
}

export class WebhookParams {
  /** @example "wh_5d1c0e7a9b3f4e2a8c6d" */
  @IsString()
  @Matches(/^wh_[0-9a-f]{1,64}$/, { message: 'webhook_id must be a webhook id (wh_...)' })
  webhook_id!: string;
}

export class DeliveryParams extends WebhookParams {
  /** @example "dlv_0a1b2c3d4e5f60718293a4b5" */
  @IsString()
  @Matches(/^dlv_[0-9a-f]{1,64}$/, { message: 'delivery_id must be a delivery id (dlv_...)' })
  delivery_id!: string;
}

export class ListDeliveriesQueryDto extends TenantQueryDto {
  @ApiPropertyOptional({ type: 'integer', minimum: 1, maximum: 1000, default: 100 })
  @IsOptional()
  @Transform(toInteger)
  @IsIntInRange('max_results', 1, 1000)
  max_results?: number;

  @ApiPropertyOptional({ type: String, description: 'The `next_page_token` of the previous page' })
  @IsOptional()
  @IsString()
  @Matches(/^\d{1,18}$/, { message: 'page_token must be a next_page_token of this list' })
  page_token?: string;
}

export class WebhookDto {
  /** @example "wh_5d1c0e7a9b3f4e2a8c6d" */
  id!: string;
  /** @example "https://ci.example/hooks/registry" */
  url!: string;
  @ApiProperty({ type: [String], example: ['approval.requested', 'model_version.stage_changed'] })
  events!: string[];
  /** @example "Deploy pipeline: promote on production" */
  description!: string | null;
  /** false: paused by PATCH, or disabled after the receiver answered 410. @example true */
  active!: boolean;
  /** Why the service disabled it (410 Gone); null otherwise. @example null */
  disabled_reason!: string | null;
  /** @example "2025-03-15T10:00:00.000Z" */
  created_at!: string;
  /** @example "2025-03-15T10:00:00.000Z" */
  updated_at!: string;
  /** Until when the previous secret signs too (after a rotation); null otherwise. @example null */
  previous_secret_expires_at!: string | null;
}

export class CreatedWebhookDto extends WebhookDto {
  /**
   * The signing secret (Standard Webhooks): shown only in this answer and after a rotation.
   * @example "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
   */
  secret!: string;
}

export class WebhookListDto {
  webhooks!: WebhookDto[];
}

export class RotatedSecretDto {
  /** @example "wh_5d1c0e7a9b3f4e2a8c6d" */
  id!: string;
  /** The new secret; shown only here. @example "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD" */
  secret!: string;
  /** Until then the previous secret signs too (24 h). @example "2025-03-16T10:00:00.000Z" */
  previous_secret_expires_at!: string;
}

export class DeliveryDto {
  /** @example "dlv_0a1b2c3d4e5f60718293a4b5" */
  id!: string;
  /** @example "wh_5d1c0e7a9b3f4e2a8c6d" */
  webhook_id!: string;
  /** The event, also the `webhook-id` header (the same for every attempt). @example "evt_8c1f0b9e2d3a4c5b6a7f8e9d0c1b2a3f" */
  event_id!: string;
  /** @example "model_version.stage_changed" */
  event_type!: string;
  @ApiProperty({ enum: DeliveryStatus, enumName: 'DeliveryStatus', example: 'succeeded' })
  status!: DeliveryStatus;
  /** @example 1 */
  attempts!: number;
  /** The receiver's last HTTP status; null before an answer. @example 200 */
  last_response_code!: number | null;
  /** @example "2025-03-15T10:00:01.000Z" */
  last_attempt_at!: string | null;
  /** What went wrong last (no answer, a status); null when delivered. @example null */
  last_error!: string | null;
  /** When the next attempt is due (pending only). @example null */
  next_attempt_at!: string | null;
  /** @example "2025-03-15T10:00:00.000Z" */
  created_at!: string;
}

export class DeliveryListDto {
  deliveries!: DeliveryDto[];
  /** Present when there are more (older) deliveries. @example "1042" */
  next_page_token?: string;
}
