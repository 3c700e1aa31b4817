import {
  CanActivate,
  createParamDecorator,
  ExecutionContext,
  Injectable,
  SetMetadata,
} from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { Request } from 'express';
import { Stage } from '../mlflow/registry-types';

export const APPROVAL_STAGES_KEY = 'registry:approval-stages';

/**
 * Marks a stage-transition route: a request whose body asks for one of `stages` is not applied
 * but turned into a pending approval request. The policy lives here, on the route, not in the
 * services that apply transitions.
 */
export const RequiresApproval = (...stages: Stage[]): MethodDecorator =>
  SetMetadata(APPROVAL_STAGES_KEY, stages);

type GatedRequest = Request & { approvalRequired?: boolean };

/**
 * Global guard, after authentication: on a route marked @RequiresApproval, flags a request whose
 * target stage needs approval. The handler reads the flag with @ApprovalRequired() and opens an
 * approval request (202) instead of transitioning.
 */
@Injectable()
export class ApprovalGuard implements CanActivate {
  /** Per handler: its @RequiresApproval stages (null: none), read once. */
  private readonly policies = new WeakMap<object, Stage[] | null>();

  constructor(private readonly reflector: Reflector) {}

  canActivate(context: ExecutionContext): boolean {
    const handler = context.getHandler();
    let stages = this.policies.get(handler);
    if (stages === undefined) {
      stages = this.reflector.get<Stage[] | undefined>(APPROVAL_STAGES_KEY, handler) ?? null;
      this.policies.set(handler, stages);
    }
    if (stages === null) return true;
    const request = context.switchToHttp().getRequest<GatedRequest>();
    const body: unknown = request.body;
    const target =
      typeof body === 'object' && body !== null ? (body as { stage?: unknown }).stage : undefined;
    request.approvalRequired =
      typeof target === 'string' && (stages as string[]).includes(target.toLowerCase());
    return true;
  }
}

/** True when the approval guard turned this request into an approval request. */
export const ApprovalRequired = createParamDecorator(
  (_data: unknown, context: ExecutionContext): boolean =>
    context.switchToHttp().getRequest<GatedRequest>().approvalRequired === true,
);
