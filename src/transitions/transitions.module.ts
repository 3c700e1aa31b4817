import { Module } from '@nestjs/common';
import { ArtifactsModule } from '../artifacts/artifacts.module';
import { AuditModule } from '../audit/audit.module';
import { PoliciesModule } from '../policies/policies.module';
import { VersionsModule } from '../versions/versions.module';
import { ApprovalApplier } from './approval-applier';
import { ApprovalDecisions } from './approval-decisions';
import { ApprovalExpiry } from './approval-expiry';
import { ApprovalMetrics } from './approval-metrics';
import { ApprovalsController } from './approvals.controller';
import { ApprovalsRepository } from './approvals.repository';
import { ApprovalsService } from './approvals.service';
import { ArtifactIntegrity } from './artifact-integrity';
import { AutoPromotion } from './auto-promotion';
import { AliasEffect } from './alias-effect';
import { RollbackController } from './rollback.controller';
import { TransitionsController } from './transitions.controller';
import { TransitionsService } from './transitions.service';

@Module({
  imports: [AuditModule, VersionsModule, PoliciesModule, ArtifactsModule],
  controllers: [TransitionsController, ApprovalsController, RollbackController],
  providers: [
    TransitionsService,
    ApprovalsService,
    ApprovalDecisions,
    ApprovalApplier,
    ApprovalExpiry,
    ApprovalsRepository,
    ApprovalMetrics,
    ArtifactIntegrity,
    AutoPromotion,
    AliasEffect,
  ],
  exports: [ApprovalsService, AliasEffect, PoliciesModule],
})
export class TransitionsModule {}
