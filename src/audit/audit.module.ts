import { Module } from '@nestjs/common';
import { HistoryRepository } from './history.repository';
import { IntentReconciler } from './intent-reconciler';
import { IntentsRepository } from './intents.repository';

/**
 * The service's own records: the append-only history, and the intents of changes asked of the
 * registry backend (with the reconciler that settles those left behind).
 */
@Module({
  providers: [HistoryRepository, IntentsRepository, IntentReconciler],
  exports: [HistoryRepository, IntentsRepository, IntentReconciler],
})
export class AuditModule {}
