import { Module } from '@nestjs/common';
import { ArtifactPlacement } from './artifact-placement';
import { ArtifactSweeper } from './artifact-sweeper';
import { ArtifactsController } from './artifacts.controller';
import { ArtifactsRepository } from './artifacts.repository';
import { ArtifactsService } from './artifacts.service';

@Module({
  controllers: [ArtifactsController],
  providers: [ArtifactsService, ArtifactPlacement, ArtifactsRepository, ArtifactSweeper],
  exports: [ArtifactsService, ArtifactPlacement],
})
export class ArtifactsModule {}
