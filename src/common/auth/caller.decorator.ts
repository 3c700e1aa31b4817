import { createParamDecorator, ExecutionContext } from '@nestjs/common';
import { ErrorCode } from '../errors/error-code';
import { RegistryError } from '../errors/registry-error';
import type { AuthenticatedRequest } from './auth.guard';
import { Principal, TENANT_ID_PATTERN } from './principal';
import { hasPermission, Permission } from './roles';

/** Who calls, and on behalf of which tenant. */
export interface Caller {
  principal: Principal;
  /** The tenant this request acts on: the token's, or `tenant_id` for an admin. */
  tenant: string;
}

/**
 * Resolves the caller of an authenticated route. `?tenant_id=` may name the caller's own
 * tenant; another tenant needs the admin role (403 otherwise, as the contract says).
 */
export function resolveCaller(request: AuthenticatedRequest): Caller {
  const principal = request.principal;
  if (!principal) {
    throw new RegistryError(
      ErrorCode.Unauthenticated,
      'Authorization header with a bearer token is required',
    );
  }
  const raw = request.query?.['tenant_id'];
  if (raw === undefined) return { principal, tenant: principal.tenantId };
  if (typeof raw !== 'string' || !TENANT_ID_PATTERN.test(raw)) {
    throw RegistryError.validation(
      "tenant_id must be a tenant id (letters, digits, '.', '_', '-'; at most 64 characters)",
    );
  }
  if (raw !== principal.tenantId && !hasPermission(principal.roles, Permission.Administer)) {
    throw new RegistryError(
      ErrorCode.Forbidden,
      'tenant_id may only name another tenant for an admin',
    );
  }
  return { principal, tenant: raw };
}

export const CurrentCaller = createParamDecorator(
  (_data: unknown, context: ExecutionContext): Caller =>
    resolveCaller(context.switchToHttp().getRequest<AuthenticatedRequest>()),
);
