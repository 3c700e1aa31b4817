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

/** What the guard needs to know of a route, read once per handler. */
interface RouteAccess {
  isPublic: boolean;
  permission: Permission | undefined;
}

const BEARER = /^Bearer\s+(\S+)\s*$/i;

/**
 * Global guard: every route needs a valid bearer token (401 otherwise) granting the route's
 * permission (403 otherwise), unless it is marked @Public(). A route with neither marker is
 * refused, so a forgotten decorator fails closed. A token verified before (JwtVerifier remembers
 * it) is answered synchronously: no promise, nothing for Nest to await.
 */
@Injectable()
export class AuthGuard implements CanActivate {
  /** Per handler, then per class (a handler inherited by two controllers): its markers. */
  private readonly routes = new WeakMap<object, WeakMap<object, RouteAccess>>();

  constructor(
    private readonly reflector: Reflector,
    private readonly verifier: JwtVerifier,
  ) {}

  canActivate(context: ExecutionContext): boolean | Promise<boolean> {
    const route = this.routeOf(context.getHandler(), context.getClass());
    if (route.isPublic) return true;

    const request = context.switchToHttp().getRequest<AuthenticatedRequest>();
    const header = request.headers.authorization;
    if (header === undefined || header === '') {
      throw new RegistryError(
        ErrorCode.Unauthenticated,
        'Authorization header with a bearer token is required',
      );
    }
    const match = BEARER.exec(header);
    if (!match) {
      throw new RegistryError(
        ErrorCode.Unauthenticated,
        "Authorization header must be 'Bearer <token>'",
      );
    }
    const known = this.verifier.remembered(match[1]);
    if (known !== undefined) return admit(request, known, route.permission);
    return this.verifier
      .verify(match[1])
      .then((principal) => admit(request, principal, route.permission));
  }

  private routeOf(handler: object, controller: object): RouteAccess {
    let byClass = this.routes.get(handler);
    let route = byClass?.get(controller);
    if (route === undefined) {
      const targets = [handler, controller] as [() => void, () => void];
      route = {
        isPublic: this.reflector.getAllAndOverride<boolean>(PUBLIC_KEY, targets) === true,
        permission: this.reflector.getAllAndOverride<Permission | undefined>(
          PERMISSION_KEY,
          targets,
        ),
      };
      if (byClass === undefined) {
        byClass = new WeakMap();
        this.routes.set(handler, byClass);
      }
      byClass.set(controller, route);
    }
    return route;
  }
}

/** The authenticated caller is kept on the request; its roles must grant the permission. */
function admit(
  request: AuthenticatedRequest,
  principal: Principal,
  permission: Permission | undefined,
): true {
  request.principal = principal;
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
