/** The body of every error answer. */
export class ErrorResponseDto {
  /** The HTTP status code, repeated. @example 400 */
  statusCode!: number;
  /** The HTTP reason phrase. @example "Bad Request" */
  error!: string;
  /** What was wrong, naming the field. @example "name must match ^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$" */
  message!: string;
  /** Stable machine-readable error code. @example "VALIDATION_FAILED" */
  code!: string;
  /** The request id (also in the X-Request-Id header); quote it when reporting a problem. @example "5f0c7a0e-3f1e-4c55-9d1e-0b7f4f3d2a11" */
  request_id?: string;
  /** Machine-readable context, e.g. the id of the approval that is already pending. */
  details?: Record<string, unknown>;
}
