import { ApiProperty } from '@nestjs/swagger';
import { HistoryEvent } from '../../audit/history.repository';
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
  /** Who did it: the approver for an approved transition. @example "bob" */
  actor!: string;
  /** @example "2025-03-15T11:00:00.000Z" */
  timestamp!: string;
  /** @example "Validated on holdout set with 0.91 F1 score" */
  comment!: string | null;
  /** The approval request this entry belongs to. @example "3f6d1c2e-8a4b-4f0e-9d7c-1b2a3c4d5e6f" */
  approval_id!: string | null;
  /** For an approved transition: who asked for it. @example "alice" */
  requested_by!: string | null;
  /** For an approved transition: who approved it. @example "bob" */
  approved_by!: string | null;
}

export class TransitionHistoryDto {
  /** Oldest first. */
  transitions!: TransitionEntryDto[];
}
