import { DynamicModule, Module, RequestMethod } from '@nestjs/common';
import { APP_FILTER, APP_GUARD, APP_INTERCEPTOR, APP_PIPE } from '@nestjs/core';
import { LoggerModule } from 'nestjs-pino';
import type { IncomingMessage } from 'node:http';
import { ArtifactsModule } from './artifacts/artifacts.module';
import { MetadataCacheModule } from './cache/metadata-cache.module';
import { AuthGuard } from './common/auth/auth.guard';
import { RateLimitGuard } from './common/auth/rate-limit.guard';
import { JwtVerifier } from './common/auth/jwt-verifier';
import type { Principal } from './common/auth/principal';
import { HttpExceptionFilter } from './common/errors/http-exception.filter';
import { BodyErrorInterceptor } from './common/http/deferred-body-parser';
import { IdempotencyInterceptor } from './common/idempotency/idempotency.interceptor';
import { IdempotencyRepository } from './common/idempotency/idempotency.repository';
import { requestId } from './common/http/request-id';
import { createValidationPipe } from './common/validation/validation.pipe';
import { ComparisonModule } from './comparison/comparison.module';
import { AppConfig } from './config/app-config';
import { ConfigModule } from './config/config.module';
import { DatabaseModule } from './database/database.module';
import { HealthModule } from './health/health.module';
import { MlflowModule } from './mlflow/mlflow.module';
import { RegistryModule } from './registry/registry.module';
import { StorageModule } from './storage/storage.module';
import { ApprovalGuard } from './transitions/approval.guard';
import { TransitionsModule } from './transitions/transitions.module';
import { VersionsModule } from './versions/versions.module';

@Module({})
export class AppModule {
  static forRoot(config: AppConfig): DynamicModule {
    return {
      module: AppModule,
      imports: [
        ConfigModule.forRoot(config),
        LoggerModule.forRoot({
          forRoutes: [{ path: '{*path}', method: RequestMethod.ALL }],
          pinoHttp: {
            level: config.logLevel,
            genReqId: requestId,
            // Only what a request line needs: copying and redacting every header of every
            // request cost ~15% of a cached read (BENCHMARKS.md), and headers carry tokens.
            serializers: {
              req: (req: IncomingMessage & { id?: unknown }) => ({
                id: req.id,
                method: req.method,
                url: req.url,
              }),
              res: (res: { statusCode: number }) => ({ statusCode: res.statusCode }),
            },
            customProps: (req: IncomingMessage) => {
              const principal = (req as IncomingMessage & { principal?: Principal }).principal;
              return principal ? { tenant: principal.tenantId, user: principal.subject } : {};
            },
            // Health probes every few seconds would drown the useful lines.
            autoLogging: { ignore: (req) => (req.url ?? '').startsWith('/health/') },
          },
        }),
        DatabaseModule,
        StorageModule,
        MlflowModule,
        MetadataCacheModule,
        ArtifactsModule,
        RegistryModule,
        VersionsModule,
        TransitionsModule,
        ComparisonModule,
        HealthModule,
      ],
      providers: [
        JwtVerifier,
        IdempotencyRepository,
        // Order matters: authentication and role first, then the user's rate limit, then the
        // approval policy.
        { provide: APP_GUARD, useClass: AuthGuard },
        { provide: APP_GUARD, useClass: RateLimitGuard },
        { provide: APP_GUARD, useClass: ApprovalGuard },
        // A body that could not be read is refused before an Idempotency-Key is claimed for it.
        { provide: APP_INTERCEPTOR, useClass: BodyErrorInterceptor },
        { provide: APP_INTERCEPTOR, useClass: IdempotencyInterceptor },
        { provide: APP_FILTER, useClass: HttpExceptionFilter },
        { provide: APP_PIPE, useFactory: createValidationPipe },
      ],
    };
  }
}
