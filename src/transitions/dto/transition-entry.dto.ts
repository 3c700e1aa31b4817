import { ApiProperty } from '@nestjs/swagger';
import { HistoryEvent } from '../../database/schema';
import { Stage } from '../../mlflow/registry-types';

export class TransitionEntryDto {
  /** Position in the audit trail. @example 42 */
  id!: number;
  @ApiProperty({ enum: HistoryEvent, enumName: 'HistoryEvent', example: HistoryEvent.Transition })
  event!: HistoryEvent;
  @ApiProperty({ enum: Stage, enumName: 'Stage', nullable: true, example: Stage.Staging })
  from_stage!: Stage | null;
  @ApiProperty({ enum: Stage, enumName: 'Stage', nullable: true, example: Stage.Production })
  to_stage!: Stage | null;
  /** Who did it (their `sub`): the approver for an approved transition. @example "bob" */
  actor!: string;
  /**
   * The actor's own tenant: with `actor`, the person who did it (a `sub` is unique only within
   * its tenant; an admin of another tenant may act on this one). Entries recorded before the
   * service kept it show the entry's tenant. @example "acme-corp"
   */
  actor_tenant!: string;
  /** @example "2025-03-15T11:00:00.000Z" */
  timestamp!: string;
  /** @example "Validated on holdout set with 0.91 F1 score" */
  comment!: string | null;
  /** The approval request this entry belongs to. @example "3f6d1c2e-8a4b-4f0e-9d7c-1b2a3c4d5e6f" */
  approval_id!: string | null;
  /** For an approved transition: who asked for it. @example "alice" */
  requested_by!: string | null;
  /** The requester's own tenant, null with `requested_by`. @example "acme-corp" */
  requested_by_tenant!: string | null;
  /** For an approved transition: who approved it. @example "bob" */
  approved_by!: string | null;
  /** The approver's own tenant, null with `approved_by`. @example "acme-corp" */
  approved_by_tenant!: string | null;
}

export class TransitionHistoryDto {
  /** Oldest first. */
  transitions!: TransitionEntryDto[];
}
