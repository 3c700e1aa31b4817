import { CanActivate, ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { Request } from 'express';
import { ErrorCode } from '../errors/error-code';
import { RegistryError } from '../errors/registry-error';
import { PERMISSION_KEY, PUBLIC_KEY } from './authenticated.decorator';
import { JwtVerifier } from './jwt-verifier';
import type { Principal } from './principal';
import { hasPermission, Permission, rolesGranting } from './roles';

export type AuthenticatedRequest = Request & { principal?: Principal };

/**
 * Global guard: every route needs a valid bearer token (401 otherwise) granting the route's
 * permission (403 otherwise), unless it is marked @Public(). A route with neither marker is
 * refused, so a forgotten decorator fails closed.
 */
@Injectable()
export class AuthGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly verifier: JwtVerifier,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const targets = [context.getHandler(), context.getClass()];
    if (this.reflector.getAllAndOverride<boolean>(PUBLIC_KEY, targets)) return true;

    const request = context.switchToHttp().getRequest<AuthenticatedRequest>();
    const header = request.headers.authorization;
    if (header === undefined || header === '') {
      throw new RegistryError(
        ErrorCode.Unauthenticated,
        'Authorization header with a bearer token is required',
      );
    }
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (!match) {
      throw new RegistryError(
        ErrorCode.Unauthenticated,
        "Authorization header must be 'Bearer <token>'",
      );
    }
    const principal = await this.verifier.verify(match[1]);
    request.principal = principal;

    const permission = this.reflector.getAllAndOverride<Permission | undefined>(
      PERMISSION_KEY,
      targets,
    );
    if (permission === undefined) {
      throw new RegistryError(ErrorCode.Forbidden, 'this route is not open to any role');
    }
    if (!hasPermission(principal.roles, permission)) {
      throw new RegistryError(
        ErrorCode.Forbidden,
        `this action needs one of the roles ${rolesGranting(permission).join(', ')}`,
      );
    }
    return true;
  }
}
