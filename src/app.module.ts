import { DynamicModule, Module, RequestMethod } from '@nestjs/common';
import { APP_FILTER, APP_GUARD, APP_PIPE } from '@nestjs/core';
import { LoggerModule } from 'nestjs-pino';
import pino from 'pino';
import type { IncomingMessage } from 'node:http';
import { ArtifactsModule } from './artifacts/artifacts.module';
import { MetadataCacheModule } from './cache/metadata-cache.module';
import { AuthGuard } from './common/auth/auth.guard';
import { RateLimitGuard } from './common/auth/rate-limit.guard';
import { JwtVerifier } from './common/auth/jwt-verifier';
import type { Principal } from './common/auth/principal';
import { HttpExceptionFilter } from './common/errors/http-exception.filter';
import { BodyErrorGuard } from './common/http/deferred-body-parser';
import { IdempotencyModule } from './common/idempotency/idempotency.module';
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

/** The request line's fields, with the tenant and user once authentication has run. */
function withCaller(req: IncomingMessage, line: object): object {
  const principal = (req as IncomingMessage & { principal?: Principal }).principal;
  return principal ? { ...line, tenant: principal.tenantId, user: principal.subject } : line;
}

@Module({})
export class AppModule {
  static forRoot(config: AppConfig): DynamicModule {
    return {
      module: AppModule,
      imports: [
        ConfigModule.forRoot(config),
        LoggerModule.forRoot({
          forRoutes: [{ path: '{*path}', method: RequestMethod.ALL }],
          pinoHttp: [
            {
              level: config.logLevel,
              genReqId: requestId,
              // Only what a request line needs: copying and redacting every header of every
              // request cost ~15% of a cached read (BENCHMARKS.md), and headers carry tokens.
              // The serializers see the raw request (no intermediate copy per request).
              wrapSerializers: false,
              serializers: {
                req: (req: IncomingMessage & { id?: unknown; originalUrl?: string }) => ({
                  id: req.id,
                  method: req.method,
                  url: req.originalUrl ?? req.url,
                }),
                res: (res: { statusCode: number }) => ({ statusCode: res.statusCode }),
              },
              // Who asked goes on the request's line itself: as `customProps` it cost two more
              // child loggers per request (the principal is only known after the guards).
              customSuccessObject: (req, _res, line: object) => withCaller(req, line),
              customErrorObject: (req, _res, _err, line: object) => withCaller(req, line),
              // Health probes every few seconds would drown the useful lines.
              autoLogging: { ignore: (req) => (req.url ?? '').startsWith('/health/') },
            },
            // Lines are written by a background buffer: under load many lines go out in one
            // write instead of one system call each. Flushed when the process exits.
            pino.destination({ dest: 1, sync: false }),
          ],
        }),
        DatabaseModule,
        StorageModule,
        MlflowModule,
        MetadataCacheModule,
        ArtifactsModule,
        IdempotencyModule,
        RegistryModule,
        VersionsModule,
        TransitionsModule,
        ComparisonModule,
        HealthModule,
      ],
      providers: [
        JwtVerifier,
        // Order matters: authentication and role first, then the user's rate limit, then the
        // approval policy.
        { provide: APP_GUARD, useClass: AuthGuard },
        { provide: APP_GUARD, useClass: RateLimitGuard },
        { provide: APP_GUARD, useClass: ApprovalGuard },
        // A body that could not be read is refused after all that, and before an
        // Idempotency-Key is claimed for it (interceptors run after guards). Idempotency is
        // not global: @Idempotent() on each POST (a GET then pays for no interceptor at all).
        { provide: APP_GUARD, useClass: BodyErrorGuard },
        { provide: APP_FILTER, useClass: HttpExceptionFilter },
        { provide: APP_PIPE, useFactory: createValidationPipe },
      ],
    };
  }
}
