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
  @ApiProperty({
    description: "The model's aliases, each with the version it names (MLflow's `@champion`)",
    type: 'object',
    additionalProperties: { type: 'integer' },
    example: { champion: 2 },
  })
  aliases!: Record<string, number>;
}

export class ModelListDto {
  models!: ModelSummaryDto[];
  /** Pass as `page_token` for the next page; absent on the last page. @example "eyJhZnRlciI6ImNodXJuLXByZWRpY3RvciJ9" */
  next_page_token?: string;
}

/** A page of the list, as the seed shows it, with the token of the next page. */
export const MODEL_LIST_EXAMPLE = {
  models: [
    {
      name: 'churn-predictor',
      latest_version: 3,
      production_version: 2,
      staging_version: 3,
      created_at: '2025-02-01T08:00:00.000Z',
      last_updated: '2025-03-15T10:00:00.000Z',
      description: 'XGBoost churn prediction model',
      tags: { team: 'ml-team' },
      aliases: { champion: 2 },
    } satisfies Record<keyof ModelSummaryDto, unknown>,
  ],
  // What the service hands out: opaque, base64url; absent on the last page.
  next_page_token: 'eyJhZnRlciI6ImNodXJuLXByZWRpY3RvciJ9',
};

export class ModelDto extends ModelSummaryDto {
  /** Every version, oldest first. */
  versions!: VersionDto[];
}
