/**
 * Tags the service keeps on MLflow models and versions for itself (never shown to clients, never
 * accepted from them: the `registry.` prefix is reserved).
 */
export const SERVICE_TAGS = {
  modelUid: 'registry.model_uid',
  createdBy: 'registry.created_by',
  /** The creator's own tenant (with `createdBy`, the person: a `sub` is unique per tenant). */
  createdByTenant: 'registry.created_by_tenant',
  artifactId: 'registry.artifact_id',
} as const;
