import { CanActivate, ExecutionContext, Injectable } from '@nestjs/common';
import { AuthGuard } from './common/auth/auth.guard';
import { RateLimitGuard } from './common/auth/rate-limit.guard';
import { BodyErrorGuard } from './common/http/deferred-body-parser';
import { ApprovalGuard } from './transitions/approval.guard';

/**
 * The one global guard: the service's four checks, in the contract's order, as one guard Nest
 * calls (it calls and awaits each global guard in turn): authentication and role, the user's
 * rate limit, the approval policy, then a body that could not be read. When the token is
 * remembered the whole check is synchronous.
 */
@Injectable()
export class RequestGuard implements CanActivate {
  constructor(
    private readonly auth: AuthGuard,
    private readonly rateLimit: RateLimitGuard,
    private readonly approval: ApprovalGuard,
    private readonly bodyError: BodyErrorGuard,
  ) {}

  canActivate(context: ExecutionContext): boolean | Promise<boolean> {
    const authenticated = this.auth.canActivate(context);
    if (authenticated === true) return this.afterAuthentication(context);
    if (authenticated === false) return false;
    return authenticated.then((ok) => ok && this.afterAuthentication(context));
  }

  private afterAuthentication(context: ExecutionContext): boolean {
    return (
      this.rateLimit.canActivate(context) &&
      this.approval.canActivate(context) &&
      this.bodyError.canActivate(context)
    );
  }
}
