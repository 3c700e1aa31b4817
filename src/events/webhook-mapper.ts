import { iso } from '../common/time';
import { DeliveryStatus } from '../database/schema';
import type { DeliveryRow } from './deliveries.repository';
import type { DeliveryDto, WebhookDto } from './dto/webhook.dto';
import type { WebhookRow } from './webhooks.repository';

const isoOrNull = (ms: number | null): string | null => (ms === null ? null : iso(Number(ms)));

export function mapWebhook(row: WebhookRow, now = Date.now()): WebhookDto {
  const until = row.previous_secret_until === null ? null : Number(row.previous_secret_until);
  return {
    id: row.id,
    url: row.url,
    events: JSON.parse(row.events) as string[],
    description: row.description,
    active: row.active === 1,
    disabled_reason: row.disabled_reason,
    created_at: iso(Number(row.created_at)),
    updated_at: iso(Number(row.updated_at)),
    previous_secret_expires_at: until !== null && until > now ? iso(until) : null,
  };
}

export function mapDelivery(row: DeliveryRow): DeliveryDto {
  return {
    id: row.id,
    webhook_id: row.webhook_id,
    event_id: row.event_id,
    event_type: row.event_type,
    status: row.status as DeliveryStatus,
    attempts: row.attempts,
    last_response_code: row.last_response_code,
    last_attempt_at: isoOrNull(row.last_attempt_at),
    last_error: row.last_error,
    next_attempt_at:
      row.status === (DeliveryStatus.Pending as string) ? isoOrNull(row.next_attempt_at) : null,
    created_at: iso(Number(row.created_at)),
  };
}
