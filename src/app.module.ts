import { DynamicModule, Module } from '@nestjs/common';
import { APP_FILTER, APP_GUARD, APP_PIPE } from '@nestjs/core';
import { ScheduleModule } from '@nestjs/schedule';
import { LoggerModule } from 'nestjs-pino';
import { AliasesModule } from './aliases/aliases.module';
import { ArtifactsModule } from './artifacts/artifacts.module';
import { MetadataCacheModule } from './cache/metadata-cache.module';
import { AccessLog } from './common/http/access-log';
import { logDestination } from './common/http/log-destination';
import { DomainEventsModule } from './common/events/domain-events.module';
import { AuthGuard } from './common/auth/auth.guard';
import { RateLimitGuard } from './common/auth/rate-limit.guard';
import { JwtVerifier } from './common/auth/jwt-verifier';
import { HttpExceptionFilter } from './common/errors/http-exception.filter';
import { BodyErrorGuard } from './common/http/deferred-body-parser';
import { MetricsModule } from './common/metrics/metrics.module';
import { IdempotencyModule } from './idempotency/idempotency.module';
import { createValidationPipe } from './common/validation/validation.pipe';
import { ComparisonModule } from './comparison/comparison.module';
import { ConsoleModule } from './console/console.module';
import { AppConfig } from './config/app-config';
import { ConfigModule } from './config/config.module';
import { DatabaseModule } from './database/database.module';
import { EventsModule } from './events/events.module';
import { HealthModule } from './health/health.module';
import { MlflowModule } from './mlflow/mlflow.module';
import { ModelsModule } from './registry/models.module';
import { RequestGuard } from './request.guard';
import { StorageModule } from './storage/storage.module';
import { ApprovalGuard } from './transitions/approval.guard';
import { TransitionsModule } from './transitions/transitions.module';
import { VersionsModule } from './versions/versions.module';

@Module({})
export class AppModule {
  static forRoot(config: AppConfig): DynamicModule {
    const accessLog = new AccessLog(config.logLevel, logDestination(config.logFormat));
    return {
      module: AppModule,
      imports: [
        ConfigModule.forRoot(config),
        MetricsModule.forRoot(config),
        LoggerModule.forRoot({
          // The logger and its request middleware are built once (AccessLog) and installed by
          // configureApp as the first middleware: nestjs-pino only reads them.
          pinoHttp: { logger: accessLog.logger },
          useExisting: true,
          forRoutes: [],
        }),
        // Background jobs: every interval is registered there and stopped when the app closes.
        ScheduleModule.forRoot(),
        DatabaseModule,
        DomainEventsModule,
        StorageModule,
        MlflowModule,
        MetadataCacheModule,
        ArtifactsModule,
        IdempotencyModule,
        ModelsModule,
        VersionsModule,
        TransitionsModule,
        ComparisonModule,
        AliasesModule,
        HealthModule,
        EventsModule,
        ConsoleModule,
      ],
      providers: [
        { provide: AccessLog, useValue: accessLog },
        JwtVerifier,
        // One global guard (see RequestGuard) running these in order: authentication and role,
        // then the user's rate limit, then the approval policy, then a body that could not be
        // read (refused after all that, and before an Idempotency-Key is claimed for it:
        // interceptors run after guards). Idempotency is not global: @Idempotent() on each POST
        // (a GET then pays for no interceptor at all).
        AuthGuard,
        RateLimitGuard,
        ApprovalGuard,
        BodyErrorGuard,
        { provide: APP_GUARD, useClass: RequestGuard },
        { provide: APP_FILTER, useClass: HttpExceptionFilter },
        { provide: APP_PIPE, useFactory: createValidationPipe },
      ],
    };
  }
}
