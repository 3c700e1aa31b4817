import { ApiProperty } from '@nestjs/swagger';
import { VersionDto } from '../../versions/dto/version.dto';

export class ModelSummaryDto {
  /** @example "churn-predictor" */
  name!: string;
  /** The newest version, whatever its stage. @example 3 */
  latest_version!: number | null;
  /** The version in production (the newest, if several), or null. @example 2 */
  production_version!: number | null;
  /** The newest version in staging, or null. @example 3 */
  staging_version!: number | null;
  /** @example "2025-02-01T08:00:00.000Z" */
  created_at!: string;
  /** @example "2025-03-15T10:00:00.000Z" */
  last_updated!: string;
  /** @example "XGBoost churn prediction model" */
  description!: string;
  @ApiProperty({
    type: 'object',
    additionalProperties: { type: 'string' },
    example: { team: 'ml-team' },
  })
  tags!: Record<string, string>;
}

export class ModelListDto {
  models!: ModelSummaryDto[];
  /** Pass as `page_token` for the next page; absent on the last page. */
  next_page_token?: string;
}

export class ModelDto extends ModelSummaryDto {
  /** Every version, oldest first. */
  versions!: VersionDto[];
}
