import { Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { SchedulerRegistry } from '@nestjs/schedule';
import { randomUUID } from 'node:crypto';
import { scheduleEvery, singleFlight } from '../common/scheduling/periodic';
import { AppConfig, WebhookSettings } from '../config/app-config';
import { DeliveryStatus } from '../database/schema';
import { DeliveriesRepository, DueDelivery } from './deliveries.repository';
import { judge } from './retry-policy';
import { signedHeaders } from './webhook-signer';
import { sendWebhook, SendOutcome } from './webhook-sender';
import { WebhooksRepository } from './webhooks.repository';

/** How much of an error or answer the delivery log keeps. */
const ERROR_CHARS = 500;

/**
 * Sends due deliveries, every WEBHOOKS_POLL_INTERVAL_MS. A round claims deliveries under a
 * database lease (replicas share the work: each delivery is sent by one at a time) up to
 * WEBHOOKS_CONCURRENCY in flight, starts them and returns: a slow receiver holds one slot for
 * at most WEBHOOKS_TIMEOUT_MS, never a request of the API nor the next round.
 */
@Injectable()
export class DeliveryWorker implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(DeliveryWorker.name);
  /** Names this process's leases. */
  private readonly owner = `worker-${randomUUID()}`;
  private readonly inFlight = new Set<Promise<void>>();
  /** Attempts in flight per webhook: one webhook holds at most half the slots (see round). */
  private readonly perWebhook = new Map<string, number>();
  private readonly settings: WebhookSettings;
  private closing = false;

  constructor(
    private readonly deliveries: DeliveriesRepository,
    private readonly webhooks: WebhooksRepository,
    config: AppConfig,
    private readonly scheduler: SchedulerRegistry,
  ) {
    this.settings = config.webhooks;
  }

  onApplicationBootstrap(): void {
    scheduleEvery(
      this.scheduler,
      'webhook-delivery',
      this.settings.pollIntervalMs,
      singleFlight('webhook delivery', () => this.round()),
    );
  }

  /** In-flight attempts are not waited for: their leases run out, another process retries them. */
  onApplicationShutdown(): void {
    this.closing = true;
  }

  /** Deliveries being sent by this process right now. */
  get busy(): number {
    return this.inFlight.size;
  }

  /**
   * One round: claims what is due, up to the free slots, and starts sending it. One webhook
   * holds at most half the slots (at least one), so a receiver that hangs (each of its attempts
   * holding a slot until WEBHOOKS_TIMEOUT_MS) delays its own deliveries, not every other
   * webhook's.
   */
  async round(): Promise<void> {
    if (this.closing) return;
    const free = this.settings.concurrency - this.inFlight.size;
    if (free <= 0) return;
    const now = Date.now();
    // More than the free slots: some may be taken by another replica meanwhile, and some
    // belong to a webhook at its share.
    const due = await this.deliveries.due(now, Math.max(free * 4, 50));
    let started = 0;
    for (const delivery of due) {
      if (started >= free || this.closing) break;
      const webhook = delivery.webhook_id;
      if ((this.perWebhook.get(webhook) ?? 0) >= this.shareOfSlots()) continue;
      if (!(await this.deliveries.claim(delivery.id, this.owner, Date.now(), this.leaseMs()))) {
        continue;
      }
      started++;
      this.perWebhook.set(webhook, (this.perWebhook.get(webhook) ?? 0) + 1);
      const attempt = this.attempt(delivery).finally(() => {
        this.inFlight.delete(attempt);
        const left = (this.perWebhook.get(webhook) ?? 1) - 1;
        if (left > 0) this.perWebhook.set(webhook, left);
        else this.perWebhook.delete(webhook);
      });
      this.inFlight.add(attempt);
    }
  }

  /** The slots one webhook may hold at once. */
  private shareOfSlots(): number {
    return Math.max(1, Math.floor(this.settings.concurrency / 2));
  }

  /** Sends and awaits every due delivery, rounds after rounds, until none is left (tests). */
  async drain(): Promise<void> {
    for (;;) {
      await this.round();
      if (this.inFlight.size === 0) return;
      await Promise.all([...this.inFlight]);
    }
  }

  /** The lease covers the whole attempt (timeout included) with room to record it. */
  private leaseMs(): number {
    return this.settings.timeoutMs + 30_000;
  }

  private async attempt(delivery: DueDelivery): Promise<void> {
    try {
      const outcome = await this.send(delivery);
      await this.record(delivery, outcome);
    } catch (err) {
      // The database failed: the lease runs out and the delivery is tried again.
      if (!this.closing) {
        this.logger.warn({ err, deliveryId: delivery.id }, 'could not record a webhook attempt');
      }
    }
  }

  private send(delivery: DueDelivery): Promise<SendOutcome> {
    const now = Date.now();
    const secrets = [delivery.secret];
    if (
      delivery.previous_secret !== null &&
      delivery.previous_secret_until !== null &&
      Number(delivery.previous_secret_until) > now
    ) {
      secrets.push(delivery.previous_secret);
    }
    const headers = signedHeaders(
      delivery.event_id,
      Math.floor(now / 1000),
      delivery.payload,
      secrets,
    );
    return sendWebhook(new URL(delivery.url), delivery.payload, headers, {
      allowPrivateNetworks: this.settings.allowPrivateNetworks,
      timeoutMs: this.settings.timeoutMs,
    });
  }

  private async record(delivery: DueDelivery, outcome: SendOutcome): Promise<void> {
    if (this.closing) return;
    const now = Date.now();
    const attempts = delivery.attempts + 1;
    const verdict = judge(outcome, attempts, this.settings.retryBaseMs, now);
    const responseCode = outcome.kind === 'answered' ? outcome.status : null;
    let error: string | null =
      outcome.kind === 'answered'
        ? outcome.status >= 200 && outcome.status < 300
          ? null
          : `the receiver answered ${outcome.status}${outcome.status >= 300 && outcome.status < 400 ? ' (redirects are not followed)' : ''}`
        : outcome.error;
    let status: DeliveryStatus;
    let nextAttemptAt: number | null = null;
    if (verdict.kind === 'delivered') {
      status = DeliveryStatus.Succeeded;
    } else if (verdict.kind === 'retry') {
      const next = now + verdict.afterMs;
      if (next > Number(delivery.created_at) + this.settings.retryWindowMs) {
        status = DeliveryStatus.Failed;
        error = `${error}; retried for ${Math.round(this.settings.retryWindowMs / 60_000)} min, giving up`;
      } else {
        status = DeliveryStatus.Pending;
        nextAttemptAt = next;
      }
    } else {
      status = DeliveryStatus.Failed;
      if (verdict.disable) {
        await this.webhooks.disable(
          delivery.webhook_id,
          'the receiver answered 410 Gone: the webhook was disabled',
          now,
        );
        this.logger.warn({ webhookId: delivery.webhook_id }, 'webhook disabled: 410 Gone');
      }
    }
    await this.deliveries.recordAttempt(delivery.id, this.owner, {
      status,
      attempts,
      nextAttemptAt,
      at: now,
      responseCode,
      error: error === null ? null : error.slice(0, ERROR_CHARS),
    });
  }
}
