import type { OpenAPIObject } from '@nestjs/swagger';
import type { HeadersObject } from '@nestjs/swagger/dist/interfaces/open-api-spec.interface';
import { addErrorCases, ERRORS } from './common/http/api-errors.decorator';
import { API_PREFIX } from './common/http/api-prefix';
import { IDEMPOTENCY_HEADER } from './idempotency/idempotency.interceptor';

type Operation = NonNullable<OpenAPIObject['paths'][string]['post']>;

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
      addErrorCases(op.responses, [ERRORS.rateLimited], RETRY_AFTER);
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
      addErrorCases(op.responses, [ERRORS.idempotencyKeyInUse], RETRY_AFTER);
      addErrorCases(op.responses, [ERRORS.idempotencyKeyReused]);
    }
  }
  return document;
}
