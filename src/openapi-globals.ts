import type { OpenAPIObject } from '@nestjs/swagger';
import type {
  HeadersObject,
  ResponseObject,
} from '@nestjs/swagger/dist/interfaces/open-api-spec.interface';
import { API_PREFIX } from './common/http/api-prefix';
import { IDEMPOTENCY_HEADER } from './idempotency/idempotency.interceptor';

type Operation = NonNullable<OpenAPIObject['paths'][string]['post']>;

const errorResponse = (description: string, headers?: HeadersObject): ResponseObject => ({
  description,
  content: {
    'application/json': { schema: { $ref: '#/components/schemas/ErrorResponseDto' } },
  },
  ...(headers !== undefined ? { headers } : {}),
});

const RETRY_AFTER: HeadersObject = {
  'Retry-After': {
    description: 'Seconds to wait before retrying',
    schema: { type: 'integer', minimum: 1 },
  },
};

/**
 * What every API operation shares and no controller declares: the per-user rate limit (429) on
 * every authenticated route, and the `Idempotency-Key` header (with its 409 and 422) on every
 * POST. Applied to the generated document, so a new route gets them too.
 */
export function documentGlobalBehaviour(document: OpenAPIObject): OpenAPIObject {
  for (const [path, item] of Object.entries(document.paths)) {
    if (!path.startsWith(`/${API_PREFIX}/`)) continue;
    for (const method of ['get', 'post', 'patch', 'put', 'delete'] as const) {
      const op: Operation | undefined = item[method];
      if (op === undefined) continue;
      op.responses['429'] ??= errorResponse(
        'Rate limit exceeded for this user (RATE_LIMITED)',
        RETRY_AFTER,
      );
      if (method !== 'post') continue;
      op.parameters = [
        ...(op.parameters ?? []),
        {
          name: IDEMPOTENCY_HEADER,
          in: 'header',
          required: false,
          description:
            'Makes a retry safe: a repeated request with the same key and body gets the first ' +
            'answer again (header Idempotent-Replayed: true) and creates nothing. Kept 24 h per user.',
          schema: { type: 'string', minLength: 1, maxLength: 255, pattern: '^[\\x21-\\x7e]+$' },
        },
      ];
      op.responses['409'] ??= errorResponse(
        'Conflict; or a request with the same Idempotency-Key is still running (IDEMPOTENCY_KEY_IN_USE)',
        RETRY_AFTER,
      );
      op.responses['422'] ??= errorResponse(
        'The Idempotency-Key was used for another request (IDEMPOTENCY_KEY_REUSED)',
      );
    }
  }
  return document;
}
