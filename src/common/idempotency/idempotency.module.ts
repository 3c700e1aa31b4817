import { Global, Module } from '@nestjs/common';
import { ArtifactsModule } from '../../artifacts/artifacts.module';
import { IdempotencyRepository } from './idempotency.repository';

/**
 * What `@Idempotent()` needs in every module whose controllers use it: Nest builds the
 * interceptor inside each such module, so its dependencies (the key store, and the artifacts
 * service that discards a repeated upload) are made visible everywhere.
 */
@Global()
@Module({
  imports: [ArtifactsModule],
  providers: [IdempotencyRepository],
  exports: [IdempotencyRepository, ArtifactsModule],
})
export class IdempotencyModule {}
