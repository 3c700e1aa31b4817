import { Module } from '@nestjs/common';
import { ApprovalsRepository } from './approvals.repository';
import { HistoryRepository } from './history.repository';

/** The service's own records of decisions: approval requests and the append-only history. */
@Module({
  providers: [ApprovalsRepository, HistoryRepository],
  exports: [ApprovalsRepository, HistoryRepository],
})
export class AuditModule {}
