import { Module } from '@nestjs/common';
import { ApprovalsRepository } from './approvals.repository';
import { HistoryRepository } from './history.repository';
import { TransitionIntentsRepository } from './transition-intents.repository';

/** The service's own records of decisions: approval requests and the append-only history. */
@Module({
  providers: [ApprovalsRepository, HistoryRepository, TransitionIntentsRepository],
  exports: [ApprovalsRepository, HistoryRepository, TransitionIntentsRepository],
})
export class AuditModule {}
