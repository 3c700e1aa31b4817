import { Module } from '@nestjs/common';
import { AuditController } from './audit.controller';
import { AuditService } from './audit.service';
import { HistoryRepository } from './history.repository';
import { IntentReconciler } from './intent-reconciler';
import { IntentsRepository } from './intents.repository';

/**
 * The service's own records: the append-only, hash-chained history (and its audit routes), and
 * the intents of changes asked of the registry backend (with the reconciler that settles those
 * left behind).
 */
@Module({
  controllers: [AuditController],
  providers: [HistoryRepository, IntentsRepository, IntentReconciler, AuditService],
  exports: [HistoryRepository, IntentsRepository, IntentReconciler],
})
export class AuditModule {}
