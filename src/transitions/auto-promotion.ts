import { Injectable, Logger, OnModuleInit } from '@nestjs/common';
import type { Caller } from '../common/auth/caller.decorator';
import { DomainEvents } from '../common/events/domain-events';
import type { ModelVersionChanged } from '../domain/events';
import { Stage } from '../mlflow/registry-types';
import { PromotionRules } from '../policies/promotion-rules';
import { TransitionsService } from './transitions.service';

/** The actor auto-promotions are recorded under. */
export const AUTO_PROMOTION_ACTOR = 'policy:staging';

/**
 * "Manual or automated promotion" to staging: a version registered (or edited) so that it
 * passes the staging policy's rules, under a staging policy with auto_promote, moves to staging
 * at once, in its history with actor `policy:staging`. The request that registered or edited it
 * answers the moved version.
 */
@Injectable()
export class AutoPromotion implements OnModuleInit {
  private readonly logger = new Logger(AutoPromotion.name);

  constructor(
    private readonly events: DomainEvents,
    private readonly rules: PromotionRules,
    private readonly transitions: TransitionsService,
  ) {}

  onModuleInit(): void {
    this.events.on('model_version.changed', (e) => this.consider(e));
  }

  private async consider(event: ModelVersionChanged): Promise<void> {
    const { tenant, version } = event;
    try {
      const gates = await this.rules.autoPromotes(tenant, version);
      if (gates === null) return;
      const system: Caller = {
        tenant,
        principal: { tenantId: tenant, subject: AUTO_PROMOTION_ACTOR, roles: [] },
      };
      const summary = gates.map((g) => g.reason).join('; ');
      const moved = await this.transitions.transition(system, version.name, version.version, {
        stage: Stage.Staging,
        comment: `auto-promoted: the staging policy's rules pass${summary ? ` (${summary})` : ''}`,
      });
      if (!('demotion' in moved)) event.version = moved;
    } catch (err) {
      // The registration or edit stands: the version stays where it is, and a manual
      // transition (or the next edit) can still move it.
      this.logger.warn(
        { err, model: version.name, version: version.version },
        'auto-promotion to staging failed',
      );
    }
  }
}
