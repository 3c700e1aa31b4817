import { applyDecorators, SetMetadata } from '@nestjs/common';
import { ApiBearerAuth, ApiQuery } from '@nestjs/swagger';
import { ErrorCode } from '../errors/error-code';
import { ApiErrors, ERRORS } from '../http/api-errors.decorator';
import { Permission, rolesGranting } from './roles';

export const PERMISSION_KEY = 'registry:permission';
export const PUBLIC_KEY = 'registry:public';

/** A route anyone may call without a token (health, documentation). */
export const Public = (): MethodDecorator & ClassDecorator => SetMetadata(PUBLIC_KEY, true);

/**
 * A route that needs a bearer token granting `permission`. Also documents the bearer scheme,
 * the 401/403 answers and the admin-only `tenant_id` query parameter in the OpenAPI spec.
 * Pass `tenantQuery: false` when the route's query DTO declares `tenant_id` itself.
 */
export function Authenticated(
  permission: Permission,
  options: { tenantQuery?: boolean } = {},
): MethodDecorator {
  const decorators = [
    SetMetadata(PERMISSION_KEY, permission),
    ApiBearerAuth('bearer'),
    ApiErrors(ERRORS.unauthenticated, {
      code: ErrorCode.Forbidden,
      when: `the role is missing: needs one of ${rolesGranting(permission).join(', ')}`,
      message: `this action needs one of the roles ${rolesGranting(permission).join(', ')}`,
    }),
  ];
  if (options.tenantQuery !== false) {
    decorators.push(
      ApiQuery({
        name: 'tenant_id',
        required: false,
        description:
          "Tenant to act on; defaults to the token's tenant. Another tenant: admin only.",
      }),
    );
  }
  return applyDecorators(...decorators);
}
