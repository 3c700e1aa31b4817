import { Injectable, OnApplicationBootstrap } from '@nestjs/common';
import { SchedulerRegistry } from '@nestjs/schedule';
import { scheduleEvery, singleFlight } from '../common/scheduling/periodic';
import { AppConfig } from '../config/app-config';
import { ApprovalDecisions } from './approval-decisions';
import { ApprovalsRepository } from './approvals.repository';

/**
 * Expires pending requests whose request_ttl_seconds ran out (status expired, with a history
 * entry), every APPROVAL_RETRY_INTERVAL_MS. A request read or decided on before the sweep gets
 * to it is expired then (ApprovalDecisions.require): a late vote is always 409.
 */
@Injectable()
export class ApprovalExpiry implements OnApplicationBootstrap {
  constructor(
    private readonly repository: ApprovalsRepository,
    private readonly decisions: ApprovalDecisions,
    private readonly config: AppConfig,
    private readonly scheduler: SchedulerRegistry,
  ) {}

  onApplicationBootstrap(): void {
    scheduleEvery(
      this.scheduler,
      'approval-expiry',
      this.config.approvalRetryIntervalMs,
      singleFlight('approval expiry', () => this.sweep()),
    );
  }

  /** Expires what is due now; returns how many it expired. */
  async sweep(now = Date.now()): Promise<number> {
    let expired = 0;
    for (;;) {
      const due = await this.repository.expiredPending(now, 100);
      for (const row of due) if (await this.decisions.expire(row, now)) expired += 1;
      if (due.length < 100) return expired;
    }
  }
}
