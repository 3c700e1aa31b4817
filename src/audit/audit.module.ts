import { Module } from '@nestjs/common';
import { ApprovalsRepository } from './approvals.repository';
import { HistoryRepository } from './history.repository';
import { IntentReconciler } from './intent-reconciler';
import { IntentsRepository } from './intents.repository';

/** The service's own records of decisions: approval requests and the append-only history. */
@Module({
  providers: [ApprovalsRepository, HistoryRepository, IntentsRepository, IntentReconciler],
  exports: [ApprovalsRepository, HistoryRepository, IntentsRepository, IntentReconciler],
})
export class AuditModule {}
