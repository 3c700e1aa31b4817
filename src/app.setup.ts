import { INestApplication, RequestMethod } from '@nestjs/common';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { DocumentBuilder, OpenAPIObject, SwaggerModule } from '@nestjs/swagger';
import { Logger } from 'nestjs-pino';
import { API_PREFIX } from './common/http/api-prefix';
import { AppConfig } from './config/app-config';

export function buildOpenApiDocument(app: INestApplication): OpenAPIObject {
  const config = new DocumentBuilder()
    .setTitle('Model Registry')
    .setDescription(
      'The central catalog of trained ML models of each tenant: versioning, lifecycle stages ' +
        '(none → staging → production → archived), an approval workflow for production, metadata and ' +
        'metrics, version comparison and artifact storage.\n\n' +
        'Every route under /api/v1/ml/registry needs a bearer JWT with the claims `sub`, `tenant_id` ' +
        'and `roles` (viewer, editor, approver, admin). Click **Authorize** and paste a token ' +
        '(locally: `npm run token -- --sub alice --tenant acme-corp --roles editor`).',
    )
    .setVersion('1.0')
    .addBearerAuth({ type: 'http', scheme: 'bearer', bearerFormat: 'JWT' }, 'bearer')
    .build();
  return SwaggerModule.createDocument(app, config);
}

/**
 * Everything main.ts and the tests both need, so the app under test is the app that ships:
 * routes, body limits, logging, documentation. Guards, pipes and filters are APP_* providers.
 */
export function configureApp(app: NestExpressApplication, config: AppConfig): void {
  app.useLogger(app.get(Logger));
  app.disable('x-powered-by');
  app.useBodyParser('json', { limit: config.limits.jsonBodyBytes });
  app.setGlobalPrefix(API_PREFIX, {
    exclude: [
      { path: 'health/live', method: RequestMethod.GET },
      { path: 'health/ready', method: RequestMethod.GET },
    ],
  });
  SwaggerModule.setup('docs', app, () => buildOpenApiDocument(app), {
    jsonDocumentUrl: 'docs-json',
    customSiteTitle: 'Model Registry API',
    swaggerOptions: { persistAuthorization: true, displayRequestDuration: true },
  });
}
