import { INestApplication } from '@nestjs/common';
import { DocumentBuilder, OpenAPIObject, SwaggerModule } from '@nestjs/swagger';
import { documentGlobalBehaviour } from './openapi-globals';

/** The OpenAPI document served at /docs-json (and rendered by Swagger UI at /docs). */
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
  return documentGlobalBehaviour(SwaggerModule.createDocument(app, config));
}
