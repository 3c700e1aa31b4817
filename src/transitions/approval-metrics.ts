import { Injectable, OnModuleInit } from '@nestjs/common';
import { Metrics } from '../common/metrics/metrics';
import { ApprovalsRepository } from './approvals.repository';

/**
 * The approval workflow's gauges, counted in the database at every scrape (so every replica
 * reports the deployment's figures, and none can drift): requests waiting for a decision, and
 * approved requests whose transition is not applied yet (the backend was down; the applier
 * retries them). Per tenant: tenants are few.
 */
@Injectable()
export class ApprovalMetrics implements OnModuleInit {
  constructor(
    private readonly metrics: Metrics,
    private readonly approvals: ApprovalsRepository,
  ) {}

  onModuleInit(): void {
    this.metrics.gauge(
      'registry_approvals_pending',
      'Approval requests waiting for a decision, by tenant',
      ['tenant'],
      () => this.read('undecided'),
    );
    this.metrics.gauge(
      'registry_approvals_awaiting_apply',
      'Approved requests whose transition is not applied yet (retried in the background), by tenant',
      ['tenant'],
      () => this.read('unapplied'),
    );
  }

  private async read(kind: 'undecided' | 'unapplied') {
    const counts = await this.approvals.countWaiting(kind);
    return counts.map(({ tenant, count }) => ({ labels: { tenant }, value: count }));
  }
}
