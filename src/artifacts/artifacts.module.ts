import { Module } from '@nestjs/common';
import { ArtifactSweeper } from './artifact-sweeper';
import { ArtifactsController } from './artifacts.controller';
import { ArtifactsRepository } from './artifacts.repository';
import { ArtifactsService } from './artifacts.service';

@Module({
  controllers: [ArtifactsController],
  providers: [ArtifactsService, ArtifactsRepository, ArtifactSweeper],
  exports: [ArtifactsService],
})
export class ArtifactsModule {}
