/**
 * Stable, machine-readable error codes. Clients branch on `code`, never on `message`.
 * Each code maps to exactly one HTTP status in `statusForCode`.
 */
export enum ErrorCode {
  ValidationFailed = 'VALIDATION_FAILED',
  Unauthenticated = 'UNAUTHENTICATED',
  Forbidden = 'FORBIDDEN',
  FourEyesViolation = 'FOUR_EYES_VIOLATION',
  RouteNotFound = 'ROUTE_NOT_FOUND',
  ModelNotFound = 'MODEL_NOT_FOUND',
  VersionNotFound = 'VERSION_NOT_FOUND',
  ArtifactNotFound = 'ARTIFACT_NOT_FOUND',
  ArtifactFileNotFound = 'ARTIFACT_FILE_NOT_FOUND',
  ApprovalNotFound = 'APPROVAL_NOT_FOUND',
  PolicyNotFound = 'POLICY_NOT_FOUND',
  RunNotFound = 'RUN_NOT_FOUND',
  AliasNotFound = 'ALIAS_NOT_FOUND',
  WebhookNotFound = 'WEBHOOK_NOT_FOUND',
  DeliveryNotFound = 'DELIVERY_NOT_FOUND',
  ModelAlreadyExists = 'MODEL_ALREADY_EXISTS',
  ArtifactAlreadyRegistered = 'ARTIFACT_ALREADY_REGISTERED',
  StageUnchanged = 'STAGE_UNCHANGED',
  ApprovalAlreadyPending = 'APPROVAL_ALREADY_PENDING',
  ApprovalNotPending = 'APPROVAL_NOT_PENDING',
  AlreadyApproved = 'ALREADY_APPROVED',
  NotAPreviousProduction = 'NOT_A_PREVIOUS_PRODUCTION',
  /** An approved transition refused before apply: the stored model file is not the reviewed one. */
  ArtifactIntegrityFailed = 'ARTIFACT_INTEGRITY_FAILED',
  IdempotencyKeyInUse = 'IDEMPOTENCY_KEY_IN_USE',
  PayloadTooLarge = 'PAYLOAD_TOO_LARGE',
  UnsupportedMediaType = 'UNSUPPORTED_MEDIA_TYPE',
  RangeNotSatisfiable = 'RANGE_NOT_SATISFIABLE',
  IdempotencyKeyReused = 'IDEMPOTENCY_KEY_REUSED',
  GatesFailed = 'GATES_FAILED',
  RateLimited = 'RATE_LIMITED',
  BackendUnavailable = 'BACKEND_UNAVAILABLE',
  Internal = 'INTERNAL_ERROR',
}

export function statusForCode(code: ErrorCode): number {
  switch (code) {
    case ErrorCode.ValidationFailed:
      return 400;
    case ErrorCode.Unauthenticated:
      return 401;
    case ErrorCode.Forbidden:
    case ErrorCode.FourEyesViolation:
      return 403;
    case ErrorCode.RouteNotFound:
    case ErrorCode.ModelNotFound:
    case ErrorCode.VersionNotFound:
    case ErrorCode.ArtifactNotFound:
    case ErrorCode.ArtifactFileNotFound:
    case ErrorCode.ApprovalNotFound:
    case ErrorCode.PolicyNotFound:
    case ErrorCode.RunNotFound:
    case ErrorCode.AliasNotFound:
    case ErrorCode.WebhookNotFound:
    case ErrorCode.DeliveryNotFound:
      return 404;
    case ErrorCode.ModelAlreadyExists:
    case ErrorCode.ArtifactAlreadyRegistered:
    case ErrorCode.StageUnchanged:
    case ErrorCode.ApprovalAlreadyPending:
    case ErrorCode.ApprovalNotPending:
    case ErrorCode.AlreadyApproved:
    case ErrorCode.NotAPreviousProduction:
    case ErrorCode.ArtifactIntegrityFailed:
    case ErrorCode.IdempotencyKeyInUse:
      return 409;
    case ErrorCode.PayloadTooLarge:
      return 413;
    case ErrorCode.UnsupportedMediaType:
      return 415;
    case ErrorCode.RangeNotSatisfiable:
      return 416;
    case ErrorCode.IdempotencyKeyReused:
    case ErrorCode.GatesFailed:
      return 422;
    case ErrorCode.RateLimited:
      return 429;
    case ErrorCode.BackendUnavailable:
      return 503;
    case ErrorCode.Internal:
      return 500;
  }
}
