import { Global, Module } from '@nestjs/common';
import { Metrics } from '../common/metrics/metrics';
import { AppConfig } from '../config/app-config';
import { Database } from './database';

@Global()
@Module({
  providers: [
    {
      provide: Database,
      inject: [AppConfig, Metrics],
      useFactory: (config: AppConfig, metrics: Metrics) =>
        Database.open(config, {
          onQuery: (operation, ok, ms) =>
            metrics.observeBackend('database', operation, ok ? 'ok' : 'error', ms / 1000),
        }),
    },
  ],
  exports: [Database],
})
export class DatabaseModule {}
