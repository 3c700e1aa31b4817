import { Injectable, Logger } from '@nestjs/common';
import { Interval } from '@nestjs/schedule';
import { AppConfig } from '../config/app-config';
import { DeliveriesRepository } from './deliveries.repository';

/** How often the delivery log is pruned. */
const PRUNE_INTERVAL_MS = 60 * 60 * 1000;
/** Deliveries deleted per transaction: a large backlog is pruned in short steps. */
const BATCH = 1000;

/**
 * Keeps the delivery log bounded: finished deliveries (succeeded or failed) older than
 * WEBHOOKS_DELIVERY_RETENTION_DAYS are deleted hourly with the events nothing refers to any
 * more. Pending deliveries stay whatever their age (they end as succeeded or failed within the
 * retry window). Every replica may run it: deleting what another just deleted is harmless.
 */
@Injectable()
export class DeliveryRetention {
  private readonly logger = new Logger(DeliveryRetention.name);

  constructor(
    private readonly deliveries: DeliveriesRepository,
    private readonly config: AppConfig,
  ) {}

  /** One pass; never throws. Returns how many deliveries it deleted. */
  @Interval('webhook-delivery-retention', PRUNE_INTERVAL_MS)
  async prune(now = Date.now()): Promise<number> {
    const before = now - this.config.webhooks.retentionMs;
    let total = 0;
    try {
      for (;;) {
        const deleted = await this.deliveries.prune(before, BATCH);
        total += deleted;
        if (deleted < BATCH) break;
      }
    } catch (err) {
      this.logger.warn({ err }, 'could not prune the webhook delivery log');
    }
    return total;
  }
}
