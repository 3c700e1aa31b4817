import { Module } from '@nestjs/common';
import { AuditModule } from '../audit/audit.module';
import { VersionsModule } from '../versions/versions.module';
import { ApprovalApplier } from './approval-applier';
import { ApprovalMetrics } from './approval-metrics';
import { ApprovalsController } from './approvals.controller';
import { ApprovalsRepository } from './approvals.repository';
import { ApprovalsService } from './approvals.service';
import { TransitionsController } from './transitions.controller';
import { TransitionsService } from './transitions.service';

@Module({
  imports: [AuditModule, VersionsModule],
  controllers: [TransitionsController, ApprovalsController],
  providers: [
    TransitionsService,
    ApprovalsService,
    ApprovalApplier,
    ApprovalsRepository,
    ApprovalMetrics,
  ],
})
export class TransitionsModule {}
