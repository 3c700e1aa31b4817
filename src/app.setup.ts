import { RequestMethod } from '@nestjs/common';
import type { Server } from 'node:http';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { SwaggerModule } from '@nestjs/swagger';
import { Logger } from 'nestjs-pino';
import { AccessLog } from './common/http/access-log';
import { API_PREFIX } from './common/http/api-prefix';
import { cors } from './common/http/cors';
import { serveFrozenJson } from './common/fast-path';
import { Metrics } from './common/metrics/metrics';
import { deferredJsonParser } from './common/http/deferred-body-parser';
import { requestDeadline } from './common/http/request-deadline';
import { securityHeaders } from './common/http/security-headers';
import { AppConfig } from './config/app-config';
import { buildOpenApiDocument } from './openapi';

/** A connection that sends or receives nothing for this long is closed. */
export const IDLE_TIMEOUT_MS = 120_000;

/**
 * Everything main.ts and the tests both need, so the app under test is the app that ships:
 * routes, body limits, logging, documentation. Guards, pipes and filters are APP_* providers.
 */
export function configureApp(app: NestExpressApplication, config: AppConfig): void {
  app.useLogger(app.get(Logger));
  app.disable('x-powered-by');
  // Every API answer is `Cache-Control: no-store`, so an ETag would never be revalidated:
  // Express would hash each response body for nothing.
  app.set('etag', false);
  // A cached answer is serialized once, not on every read of it.
  serveFrozenJson(app.getHttpAdapter().getInstance());
  // In this order. First: every answer, even a refused body's, gets its request id and its log
  // line (and is counted, unless METRICS_PORT=off).
  app.use(app.get(AccessLog).middleware);
  if (config.metrics.serve !== 'off') app.use(app.get(Metrics).middleware);
  app.use(securityHeaders());
  app.use(cors(config.corsOrigins));
  app.use(requestDeadline(config.requestBodyTimeoutMs));
  app.use(deferredJsonParser(config.limits.jsonBodyBytes));
  const server: Server = app.getHttpServer();
  // Node ends any request after 5 minutes by default: a multi-GiB upload needs longer. What
  // protects the server instead is the idle timeout: a connection silent for that long is closed.
  server.requestTimeout = 0;
  server.setTimeout(IDLE_TIMEOUT_MS);
  app.setGlobalPrefix(API_PREFIX, {
    exclude: [
      { path: 'health/live', method: RequestMethod.GET },
      { path: 'health/ready', method: RequestMethod.GET },
      { path: 'metrics', method: RequestMethod.GET },
    ],
  });
  SwaggerModule.setup('docs', app, () => buildOpenApiDocument(app), {
    jsonDocumentUrl: 'docs-json',
    customSiteTitle: 'Model Registry API',
    swaggerOptions: { persistAuthorization: true, displayRequestDuration: true },
  });
}
