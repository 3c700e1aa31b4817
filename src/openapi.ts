import { INestApplication } from '@nestjs/common';
import { DocumentBuilder, OpenAPIObject, SwaggerModule } from '@nestjs/swagger';
import type {
  HeaderObject,
  HeadersObject,
  OperationObject,
  ParameterObject,
  ReferenceObject,
  RequestBodyObject,
  SchemaObject,
} from '@nestjs/swagger/dist/interfaces/open-api-spec.interface';
import { TENANT_ID_PATTERN } from './common/auth/principal';
import { API_PREFIX } from './common/http/api-prefix';
import { addErrorCases, ErrorCase, ERRORS } from './common/http/api-errors.decorator';
import { TENANT_ID_DESCRIPTION } from './common/validation/tenant-query.dto';
import { documentGlobalBehaviour } from './openapi-globals';

const HTTP_METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'] as const;

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
  const document = SwaggerModule.createDocument(app, config);
  documentTenantParameter(document);
  documentOptionalBodies(document);
  documentClosedBodies(document);
  documentGlobalBehaviour(document);
  documentCommonErrors(document);
  documentGlobalHeaders(document);
  return document;
}

interface OperationEntry {
  path: string;
  method: string;
  operation: OperationObject;
  /** Under /api/v1/ml/registry (authenticated), as opposed to health. */
  api: boolean;
}

/** Every operation of the document, in document order. */
export function operationsOf(document: OpenAPIObject): OperationEntry[] {
  const entries: OperationEntry[] = [];
  for (const [path, item] of Object.entries(document.paths)) {
    for (const method of HTTP_METHODS) {
      const operation = item[method];
      if (operation === undefined) continue;
      entries.push({ path, method, operation, api: path.startsWith(`/${API_PREFIX}/`) });
    }
  }
  return entries;
}

const isReference = (value: unknown): value is ReferenceObject =>
  typeof value === 'object' && value !== null && '$ref' in value;

/**
 * `tenant_id` is declared on every authenticated route (see @Authenticated); give it the
 * pattern the service enforces, so that generated values are the ones it can accept.
 */
function documentTenantParameter(document: OpenAPIObject): void {
  for (const { operation } of operationsOf(document)) {
    for (const parameter of operation.parameters ?? []) {
      if (isReference(parameter)) continue;
      const p: ParameterObject = parameter;
      if (p.in !== 'query' || p.name !== 'tenant_id') continue;
      p.description = TENANT_ID_DESCRIPTION;
      p.schema = { type: 'string', pattern: TENANT_ID_PATTERN.source, maxLength: 64 };
    }
  }
}

/** The component schema of an operation's JSON request body, if it has one. */
function jsonBodySchema(
  document: OpenAPIObject,
  operation: OperationObject,
): { body: RequestBodyObject; schema: SchemaObject } | undefined {
  const body = operation.requestBody;
  if (body === undefined || isReference(body)) return undefined;
  const ref = body.content['application/json']?.schema;
  if (!isReference(ref)) return undefined;
  const schema = document.components?.schemas?.[ref.$ref.replace('#/components/schemas/', '')];
  if (schema === undefined || isReference(schema)) return undefined;
  return { body, schema };
}

/**
 * A JSON body whose every field is optional may be left out (the validation pipe reads a
 * missing body as `{}`): approve, cancel and the metadata updates.
 */
function documentOptionalBodies(document: OpenAPIObject): void {
  for (const { operation } of operationsOf(document)) {
    const found = jsonBodySchema(document, operation);
    if (found !== undefined && (found.schema.required ?? []).length === 0) {
      found.body.required = false;
    }
  }
}

/**
 * The validation pipe refuses unknown fields (400 naming them): say so in every JSON request
 * body's schema, so that a client (or a fuzzer) generating valid bodies adds none.
 */
function documentClosedBodies(document: OpenAPIObject): void {
  for (const { operation } of operationsOf(document)) {
    const found = jsonBodySchema(document, operation);
    if (found !== undefined) found.schema.additionalProperties ??= false;
  }
}

/** The 404 each path parameter can give: what it names may not exist in the tenant. */
const NOT_FOUND_BY_PARAMETER: Record<string, ErrorCase> = {
  name: ERRORS.modelNotFound,
  version: ERRORS.versionNotFound,
  artifact_id: ERRORS.artifactNotFound,
  file: ERRORS.artifactFileNotFound,
  id: ERRORS.approvalNotFound,
};

const RETRY_AFTER_REQUIRED: HeadersObject = {
  'Retry-After': {
    description: 'Seconds to wait before retrying',
    required: true,
    schema: { type: 'integer', minimum: 0 },
  },
};

/**
 * The error answers any operation can give, whichever controller serves it, each with its
 * example and codes (see addErrorCases). Controllers declare their own with @ApiErrors (a 409's
 * codes, an upload's 413), and keep them: what is added here only fills in.
 */
function documentCommonErrors(document: OpenAPIObject): void {
  for (const { operation, api } of operationsOf(document)) {
    const responses = operation.responses;
    // Node's HTTP parser answers this before the service sees the request: no body.
    responses['431'] ??= {
      description: 'The request line (with its query) or the headers are too large',
    };
    if (!api) continue;
    const cases: ErrorCase[] = [ERRORS.invalidInput];
    for (const parameter of operation.parameters ?? []) {
      if (isReference(parameter) || parameter.in !== 'path') continue;
      const notFound = NOT_FOUND_BY_PARAMETER[parameter.name];
      if (notFound !== undefined) cases.push(notFound);
    }
    const body = operation.requestBody;
    if (
      body !== undefined &&
      !isReference(body) &&
      body.content['application/json'] !== undefined
    ) {
      cases.push(ERRORS.jsonTooLarge, ERRORS.notJson);
    }
    addErrorCases(responses, cases);
    addErrorCases(responses, [ERRORS.unavailable], RETRY_AFTER_REQUIRED);
  }
}

/**
 * Response headers set on every answer by global middleware rather than by a controller
 * (X-Request-Id today). Headers added by other global middleware or interceptors (rate limits,
 * security headers, CORS) belong here too.
 */
function documentGlobalHeaders(document: OpenAPIObject): void {
  const requestIdHeader: HeaderObject = {
    description:
      "The request id: the caller's X-Request-Id when it is 1-128 of A-Z a-z 0-9 . _ : -, " +
      'else a new UUID. Quote it when reporting a problem.',
    required: true,
    schema: { type: 'string', pattern: '^[A-Za-z0-9._:-]{1,128}$' } satisfies SchemaObject,
  };
  for (const { operation } of operationsOf(document)) {
    for (const [status, response] of Object.entries(operation.responses)) {
      // A 431 comes from Node's HTTP parser, before any middleware has run.
      if (status === '431' || response === undefined || isReference(response)) continue;
      response.headers = { 'X-Request-Id': requestIdHeader, ...response.headers };
    }
  }
}
