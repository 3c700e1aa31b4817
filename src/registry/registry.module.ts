import { Module } from '@nestjs/common';
import { ArtifactsModule } from '../artifacts/artifacts.module';
import { AuditModule } from '../audit/audit.module';
import { TransitionsModule } from '../transitions/transitions.module';
import { VersionsModule } from '../versions/versions.module';
import { ModelLock } from './model-lock';
import { ModelsService } from './models.service';
import { RegistryController } from './registry.controller';

@Module({
  imports: [ArtifactsModule, AuditModule, TransitionsModule, VersionsModule],
  controllers: [RegistryController],
  providers: [ModelsService, ModelLock],
})
export class RegistryModule {}
