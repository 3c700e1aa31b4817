import { ApiPropertyOptional } from '@nestjs/swagger';
import { IsOptional, Matches } from 'class-validator';
import { TENANT_ID_PATTERN } from '../auth/principal';

export const TENANT_ID_DESCRIPTION =
  "Tenant to act on; defaults to the token's tenant. Another tenant: admin only.";

/** Base of every query DTO: `tenant_id` is resolved by `@CurrentCaller()`, declared here so it is allowed. */
export class TenantQueryDto {
  // No example: Swagger UI would pre-fill it into every request.
  @ApiPropertyOptional({
    type: String,
    description: TENANT_ID_DESCRIPTION,
    pattern: TENANT_ID_PATTERN.source,
    maxLength: 64,
  })
  @IsOptional()
  @Matches(TENANT_ID_PATTERN, {
    message:
      "tenant_id must be a tenant id (letters, digits, '.', '_', '-'; at most 64 characters)",
  })
  tenant_id?: string;
}
