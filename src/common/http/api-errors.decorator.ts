import { applyDecorators } from '@nestjs/common';
import { ApiResponse } from '@nestjs/swagger';
import type {
  ExampleObject,
  HeadersObject,
  ResponseObject,
} from '@nestjs/swagger/dist/interfaces/open-api-spec.interface';
import { STATUS_CODES } from 'node:http';
import { ErrorCode, statusForCode } from '../errors/error-code';
import { ErrorResponseDto } from './error-response.dto';

/**
 * One documented error answer: its code, a message as the service words it and the `details`
 * it carries (exactly those keys: test/openapi-examples.e2e-spec.ts compares every example with
 * a real answer's shape). `when` is the line of the status's description naming the code.
 */
export interface ErrorCase {
  code: ErrorCode;
  when: string;
  message: string;
  details?: Record<string, unknown>;
  /** The example's key, when a status shows the same code twice (e.g. a body or a header 413). */
  key?: string;
}

/** The request id every error example carries (a real answer carries its own). */
const EXAMPLE_REQUEST_ID = '5f0c7a0e-3f1e-4c55-9d1e-0b7f4f3d2a11';

/** The cases most operations share; an operation names its own where the wording differs. */
export const ERRORS = {
  invalidInput: {
    code: ErrorCode.ValidationFailed,
    when: 'a path parameter, the query or the body is invalid; `details.fields` names each problem',
    message: 'name must match ^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$',
    details: { fields: ['name must match ^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$'] },
  },
  unauthenticated: {
    code: ErrorCode.Unauthenticated,
    when: 'the bearer token is missing, malformed, expired or badly signed',
    message: 'Authorization header with a bearer token is required',
  },
  modelNotFound: {
    code: ErrorCode.ModelNotFound,
    when: 'no such model in the tenant',
    message: "model 'churn-predictor' does not exist",
  },
  versionNotFound: {
    code: ErrorCode.VersionNotFound,
    when: 'the model has no such version',
    message: "model 'churn-predictor' has no version 3",
  },
  artifactNotFound: {
    code: ErrorCode.ArtifactNotFound,
    when: 'no such artifact in the tenant',
    message: "artifact 'model-7k2m9x4q8w1zt3vb' does not exist",
  },
  artifactFileNotFound: {
    code: ErrorCode.ArtifactFileNotFound,
    when: 'the artifact has no such file',
    message: "artifact 'model-7k2m9x4q8w1zt3vb' has no file preprocessor.pkl",
  },
  approvalNotFound: {
    code: ErrorCode.ApprovalNotFound,
    when: 'no such approval request in the tenant',
    message: "approval request '3f6d1c2e-8a4b-4f0e-9d7c-1b2a3c4d5e6f' does not exist",
  },
  approvalNotPending: {
    code: ErrorCode.ApprovalNotPending,
    when: 'the request was already decided or cancelled',
    message:
      "approval request '3f6d1c2e-8a4b-4f0e-9d7c-1b2a3c4d5e6f' is no longer pending (it is approved)",
    details: { status: 'approved' },
  },
  jsonTooLarge: {
    code: ErrorCode.PayloadTooLarge,
    when: 'the JSON body is over its limit',
    message: 'request body is larger than the limit of 1048576 bytes',
    details: { limit_bytes: 1048576 },
  },
  notJson: {
    code: ErrorCode.UnsupportedMediaType,
    when: 'the body is not application/json (or application/*+json)',
    message: 'Content-Type must be application/json (or application/*+json) for this request body',
  },
  idempotencyKeyInUse: {
    code: ErrorCode.IdempotencyKeyInUse,
    when: 'a request with the same Idempotency-Key is still running; retry after Retry-After',
    message: 'a request with this Idempotency-Key is still being processed; retry later',
  },
  idempotencyKeyReused: {
    code: ErrorCode.IdempotencyKeyReused,
    when: 'the Idempotency-Key was used for another request',
    message:
      'Idempotency-Key cannot be reused for another request: it was used for a request with another body',
  },
  rateLimited: {
    code: ErrorCode.RateLimited,
    when: "over the user's rate limit; retry after Retry-After seconds",
    message: 'rate limit of 1200 requests per minute exceeded; retry in 1 s',
  },
  unavailable: {
    code: ErrorCode.BackendUnavailable,
    when: 'a backend (database, model registry, object store) is unavailable; retry after Retry-After seconds',
    message: 'the registry backend is unavailable; retry later',
  },
} satisfies Record<string, ErrorCase>;

/** The error body the service answers for `c`. */
export function errorExample(c: ErrorCase): Record<string, unknown> {
  const status = statusForCode(c.code);
  return {
    statusCode: status,
    error: STATUS_CODES[status] ?? 'Error',
    message: c.message,
    code: c.code,
    request_id: EXAMPLE_REQUEST_ID,
    ...(c.details !== undefined ? { details: c.details } : {}),
  };
}

const keyOf = (c: ErrorCase): string => c.key ?? c.code;
const lineOf = (c: ErrorCase): string => `- \`${c.code}\`: ${c.when}`;

/**
 * Adds `cases` to the error answers of an operation's `responses`: each status gets one example
 * per case (Swagger UI offers them in a list) and one description line per code. A case whose
 * example is there already is left as it is, so what a controller declares wins over the
 * document-wide defaults added afterwards (openapi.ts).
 */
export function addErrorCases(
  responses: Record<string, unknown>,
  cases: readonly ErrorCase[],
  headers?: HeadersObject,
): void {
  for (const c of cases) {
    const status = String(statusForCode(c.code));
    let response = responses[status] as ResponseObject | undefined;
    if (response === undefined || response.content?.['application/json'] === undefined) {
      response = {
        description: '',
        content: {
          'application/json': { schema: { $ref: '#/components/schemas/ErrorResponseDto' } },
        },
        ...(response?.headers !== undefined ? { headers: response.headers } : {}),
      };
      responses[status] = response;
    }
    const media = response.content!['application/json'];
    delete media.example;
    const examples = (media.examples ??= {}) as Record<string, ExampleObject>;
    if (examples[keyOf(c)] !== undefined) continue;
    examples[keyOf(c)] = { summary: c.when, value: errorExample(c) };
    const line = lineOf(c);
    const description = response.description ?? '';
    if (!description.split('\n').includes(line)) {
      response.description = description === '' ? line : `${description}\n${line}`;
    }
    if (headers !== undefined) response.headers = { ...headers, ...response.headers };
  }
}

/**
 * The error answers an operation gives beyond the ones every operation shares (those are added
 * to the document in openapi.ts): one response per status, one example per case, the codes
 * listed in its description. `@ApiErrors(ERRORS.modelNotFound, { code: ..., ... })`.
 */
export function ApiErrors(...cases: ErrorCase[]): MethodDecorator {
  const byStatus = new Map<number, ErrorCase[]>();
  for (const c of cases) {
    const status = statusForCode(c.code);
    byStatus.set(status, [...(byStatus.get(status) ?? []), c]);
  }
  const decorators = [...byStatus].map(([status, list]) => {
    const responses: Record<string, ResponseObject> = {};
    addErrorCases(responses, list);
    const response = responses[String(status)];
    return ApiResponse({
      status,
      type: ErrorResponseDto,
      description: response.description,
      examples: response.content!['application/json'].examples as Record<
        string,
        { summary: string; value: unknown }
      >,
    });
  });
  return applyDecorators(...decorators);
}
