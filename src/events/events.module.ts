import { Module } from '@nestjs/common';
import { DeliveriesRepository } from './deliveries.repository';
import { DeliveryRetention } from './delivery-retention';
import { DeliveryWorker } from './delivery-worker';
import { WebhooksController } from './webhooks.controller';
import { WebhooksRepository } from './webhooks.repository';
import { WebhooksService } from './webhooks.service';

/**
 * Events: the outbox the features record into (EventOutbox, no injection needed: it writes with
 * the caller's transaction), webhook subscriptions, and the worker that delivers them. It
 * imports no feature.
 */
@Module({
  controllers: [WebhooksController],
  providers: [
    WebhooksRepository,
    DeliveriesRepository,
    WebhooksService,
    DeliveryWorker,
    DeliveryRetention,
  ],
  exports: [DeliveryWorker, DeliveryRetention],
})
export class EventsModule {}
