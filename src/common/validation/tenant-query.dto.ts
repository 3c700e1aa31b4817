import { IsOptional, Matches } from 'class-validator';
import { TENANT_ID_PATTERN } from '../auth/principal';

/** Base of every query DTO: `tenant_id` is resolved by `@CurrentCaller()`, declared here so it is allowed. */
export class TenantQueryDto {
  // No @example: Swagger UI would pre-fill it into every request.
  /** Tenant to act on; defaults to the token's tenant. Another tenant: admin only. */
  @IsOptional()
  @Matches(TENANT_ID_PATTERN, {
    message:
      "tenant_id must be a tenant id (letters, digits, '.', '_', '-'; at most 64 characters)",
  })
  tenant_id?: string;
}
