import { Global, Module } from '@nestjs/common';
import { IdempotencyHooks } from './idempotency-hooks';
import { IdempotencyRepository } from './idempotency.repository';

/**
 * What `@Idempotent()` needs in every module whose controllers use it: Nest builds the
 * interceptor inside each such module, so its dependencies (the key store, and the hooks the
 * features register, such as the artifacts' discard of a repeated upload) are visible everywhere.
 */
@Global()
@Module({
  providers: [IdempotencyRepository, IdempotencyHooks],
  exports: [IdempotencyRepository, IdempotencyHooks],
})
export class IdempotencyModule {}
