import { Injectable } from '@nestjs/common';
import { randomBytes } from 'node:crypto';
import { ErrorCode } from '../common/errors/error-code';
import { RegistryError } from '../common/errors/registry-error';
import { iso } from '../common/time';
import { AppConfig, WebhookSettings } from '../config/app-config';
import { Database } from '../database/database';
import { DeliveriesRepository } from './deliveries.repository';
import type {
  CreateWebhookDto,
  CreatedWebhookDto,
  DeliveryDto,
  DeliveryListDto,
  RotatedSecretDto,
  UpdateWebhookDto,
  WebhookDto,
  WebhookListDto,
} from './dto/webhook.dto';
import { EventOutbox } from './event-outbox';
import { testEvent } from './event-types';
import { forbiddenAddress, literalAddress } from './ssrf-guard';
import { mapDelivery, mapWebhook } from './webhook-mapper';
import { newWebhookSecret } from './webhook-signer';
import { WebhookRow, WebhooksRepository } from './webhooks.repository';

/** How long the previous secret keeps signing after a rotation. */
export const ROTATION_OVERLAP_MS = 24 * 60 * 60 * 1000;

function invalid(message: string): RegistryError {
  return RegistryError.validation(message, { fields: [message] });
}

/** The webhook subscriptions of a tenant, their delivery log, test and redelivery. */
@Injectable()
export class WebhooksService {
  private readonly settings: WebhookSettings;

  constructor(
    private readonly webhooks: WebhooksRepository,
    private readonly deliveries: DeliveriesRepository,
    private readonly database: Database,
    config: AppConfig,
  ) {
    this.settings = config.webhooks;
  }

  /**
   * A target the service may send to: http(s), https unless WEBHOOKS_ALLOW_HTTP, no
   * credentials in it, and no literal non-public address unless WEBHOOKS_ALLOW_PRIVATE_NETWORKS
   * (a name is checked at every delivery, on what it resolves to then).
   */
  private checkUrl(raw: string): string {
    let url: URL;
    try {
      url = new URL(raw);
    } catch {
      throw invalid('url must be an absolute URL (https://host/path)');
    }
    if (url.protocol !== 'https:' && url.protocol !== 'http:') {
      throw invalid('url must be an https URL');
    }
    if (url.protocol === 'http:' && !this.settings.allowHttp) {
      throw invalid('url must be an https URL (plain http needs WEBHOOKS_ALLOW_HTTP=true)');
    }
    if (url.username !== '' || url.password !== '') {
      throw invalid('url must not carry credentials (user:password@)');
    }
    const literal = literalAddress(url.hostname);
    if (literal !== undefined && !this.settings.allowPrivateNetworks) {
      const reason = forbiddenAddress(literal);
      if (reason !== undefined) {
        throw invalid(
          `url must point at a public address: ${reason} (allowed only with WEBHOOKS_ALLOW_PRIVATE_NETWORKS=true)`,
        );
      }
    }
    return url.toString();
  }

  private async require(tenant: string, id: string): Promise<WebhookRow> {
    const row = await this.webhooks.find(tenant, id);
    if (row === undefined) {
      throw new RegistryError(ErrorCode.WebhookNotFound, `webhook '${id}' does not exist`);
    }
    return row;
  }

  async create(tenant: string, dto: CreateWebhookDto): Promise<CreatedWebhookDto> {
    const url = this.checkUrl(dto.url);
    const now = Date.now();
    const row: WebhookRow = {
      id: `wh_${randomBytes(10).toString('hex')}`,
      tenant_id: tenant,
      url,
      events: JSON.stringify([...new Set(dto.events)]),
      description: dto.description ?? null,
      secret: newWebhookSecret(),
      previous_secret: null,
      previous_secret_until: null,
      active: 1,
      disabled_reason: null,
      created_at: now,
      updated_at: now,
    };
    await this.webhooks.insert(row);
    return { ...mapWebhook(row, now), secret: row.secret };
  }

  async list(tenant: string): Promise<WebhookListDto> {
    const now = Date.now();
    return { webhooks: (await this.webhooks.list(tenant)).map((r) => mapWebhook(r, now)) };
  }

  async get(tenant: string, id: string): Promise<WebhookDto> {
    return mapWebhook(await this.require(tenant, id));
  }

  async update(tenant: string, id: string, dto: UpdateWebhookDto): Promise<WebhookDto> {
    const url = dto.url !== undefined ? this.checkUrl(dto.url) : undefined;
    if (
      dto.url === undefined &&
      dto.events === undefined &&
      dto.active === undefined &&
      dto.description === undefined
    ) {
      throw invalid('the body must change at least one of url, events, active, description');
    }
    await this.require(tenant, id);
    await this.webhooks.update(tenant, id, {
      ...(url !== undefined ? { url } : {}),
      ...(dto.events !== undefined ? { events: JSON.stringify([...new Set(dto.events)]) } : {}),
      ...(dto.description !== undefined ? { description: dto.description } : {}),
      // Re-activating clears why it was disabled; its waiting deliveries resume.
      ...(dto.active !== undefined ? { active: dto.active ? 1 : 0, disabled_reason: null } : {}),
      updated_at: Date.now(),
    });
    return this.get(tenant, id);
  }

  async delete(tenant: string, id: string): Promise<void> {
    if (!(await this.webhooks.delete(tenant, id))) await this.require(tenant, id);
  }

  /** A new secret; the previous one keeps signing beside it for 24 h. */
  async rotateSecret(tenant: string, id: string): Promise<RotatedSecretDto> {
    const row = await this.require(tenant, id);
    const now = Date.now();
    const secret = newWebhookSecret();
    const until = now + ROTATION_OVERLAP_MS;
    await this.webhooks.update(tenant, id, {
      secret,
      previous_secret: row.secret,
      previous_secret_until: until,
      updated_at: now,
    });
    return { id, secret, previous_secret_expires_at: iso(until) };
  }

  /** Sends a `webhook.test` event to this webhook (and no other); answers its delivery. */
  async test(tenant: string, id: string): Promise<DeliveryDto> {
    await this.require(tenant, id);
    const deliveryId = await this.database.transaction((trx) =>
      EventOutbox.recordFor(trx, id, testEvent(tenant, id)),
    );
    return mapDelivery((await this.deliveries.find(id, deliveryId))!);
  }

  async listDeliveries(
    tenant: string,
    id: string,
    maxResults = 100,
    pageToken?: string,
  ): Promise<DeliveryListDto> {
    await this.require(tenant, id);
    const rows = await this.deliveries.page(
      id,
      maxResults + 1,
      pageToken !== undefined ? Number(pageToken) : undefined,
    );
    const page = rows.slice(0, maxResults);
    const result: DeliveryListDto = { deliveries: page.map(mapDelivery) };
    if (rows.length > maxResults) result.next_page_token = String(page[page.length - 1].seq);
    return result;
  }

  /** Sends a delivery's event once more, as a new delivery (the log keeps the first). */
  async redeliver(tenant: string, id: string, deliveryId: string): Promise<DeliveryDto> {
    await this.require(tenant, id);
    const original = await this.deliveries.find(id, deliveryId);
    if (original === undefined) {
      throw new RegistryError(
        ErrorCode.DeliveryNotFound,
        `webhook '${id}' has no delivery '${deliveryId}'`,
      );
    }
    return mapDelivery(await this.deliveries.redeliver(original, Date.now()));
  }
}
