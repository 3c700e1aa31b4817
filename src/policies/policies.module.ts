import { Module } from '@nestjs/common';
import { AuditModule } from '../audit/audit.module';
import { VersionsModule } from '../versions/versions.module';
import { PoliciesController } from './policies.controller';
import { PoliciesRepository } from './policies.repository';
import { PoliciesService } from './policies.service';
import { PromotionRules } from './promotion-rules';

/** Governance: promotion policies stored as data, and the one rule engine that reads them. */
@Module({
  imports: [AuditModule, VersionsModule],
  controllers: [PoliciesController],
  providers: [PoliciesRepository, PoliciesService, PromotionRules],
  exports: [PromotionRules, PoliciesService],
})
export class PoliciesModule {}
