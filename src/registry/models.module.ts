import { Module } from '@nestjs/common';
import { ArtifactsModule } from '../artifacts/artifacts.module';
import { AuditModule } from '../audit/audit.module';
import { VersionsModule } from '../versions/versions.module';
import { ModelDeletion } from './deletion/model-deletion.service';
import { ModelLock } from './registration/model-lock';
import { RegisterModelVersion } from './registration/register-model-version.usecase';
import { ModelsService } from './models.service';
import { ModelsController } from './models.controller';

@Module({
  imports: [ArtifactsModule, AuditModule, VersionsModule],
  controllers: [ModelsController],
  providers: [ModelsService, RegisterModelVersion, ModelDeletion, ModelLock],
})
export class ModelsModule {}
