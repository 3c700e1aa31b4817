import { DynamicModule, Global, Module } from '@nestjs/common';
import { AppConfig } from '../../config/app-config';
import { Metrics } from './metrics';
import { MetricsController } from './metrics.controller';
import { MetricsServer } from './metrics-server';

/**
 * The application's metrics (one Registry per app) for every module to record into, and where
 * they are served (METRICS_PORT): the /metrics route beside the API, a server of its own, or
 * nowhere. With METRICS_PORT=off configureApp does not install the request middleware either;
 * the few backend and cache counters still tick, unread.
 */
@Global()
@Module({})
export class MetricsModule {
  static forRoot(config: AppConfig): DynamicModule {
    return {
      module: MetricsModule,
      controllers: config.metrics.serve === 'main' ? [MetricsController] : [],
      providers: [Metrics, ...(config.metrics.serve === 'own' ? [MetricsServer] : [])],
      exports: [Metrics],
    };
  }
}
