import { ApiProperty } from '@nestjs/swagger';
import { Stage } from '../../mlflow/registry-types';

export class VersionDto {
  /** @example "churn-predictor" */
  name!: string;
  /** @example 3 */
  version!: number;
  @ApiProperty({ enum: Stage, enumName: 'Stage', example: Stage.Staging })
  stage!: Stage;
  /** Where the model file is stored. @example "s3://ml-artifacts/acme-corp/churn-predictor/v3/model.pkl" */
  artifact_uri!: string;
  /** The uploaded artifact this version was registered from. @example "model-7k2m9x4q8w1zt3vb" */
  artifact_id!: string | null;
  @ApiProperty({
    type: 'object',
    additionalProperties: { type: 'number' },
    example: { f1_score: 0.912, auc_roc: 0.97 },
  })
  metrics!: Record<string, number>;
  @ApiProperty({
    type: 'object',
    additionalProperties: { oneOf: [{ type: 'string' }, { type: 'number' }, { type: 'boolean' }] },
    example: { n_estimators: 200, max_depth: 8, learning_rate: 0.05 },
  })
  parameters!: Record<string, string | number | boolean>;
  @ApiProperty({
    type: 'object',
    additionalProperties: { type: 'string' },
    example: { algorithm: 'xgboost', training_job: 'train-abc123' },
  })
  tags!: Record<string, string>;
  @ApiProperty({
    description: "The model's aliases that name this version, sorted",
    type: [String],
    example: ['champion'],
  })
  // Readonly: a version read from the cache is frozen, and it is answered as it is.
  aliases!: readonly string[];
  /** @example "XGBoost churn prediction model" */
  description!: string;
  /** The run holding this version's metrics and parameters. @example "9f3c2a1b4d5e6f708192a3b4c5d6e7f8" */
  run_id!: string | null;
  /** Who registered it (token subject). @example "alice" */
  created_by!: string | null;
  /** @example "2025-03-15T10:00:00.000Z" */
  created_at!: string;
  /** @example "2025-03-15T10:00:00.000Z" */
  last_updated!: string;
}

/**
 * What registering answers: a new version is in stage none, its files under the version's own
 * folder (`<tenant>/<model>/v<version>/`, the registered layout; the upload's copy is removed).
 */
export const REGISTERED_VERSION_EXAMPLE = {
  name: 'churn-predictor',
  version: 3,
  stage: 'none',
  artifact_uri: 's3://ml-artifacts/acme-corp/churn-predictor/v3/model.pkl',
  artifact_id: 'model-7k2m9x4q8w1zt3vb',
  metrics: { f1_score: 0.912, auc_roc: 0.97 },
  parameters: { n_estimators: 200, max_depth: 8, learning_rate: 0.05 },
  tags: { algorithm: 'xgboost', training_job: 'train-abc123' },
  aliases: [],
  description: 'XGBoost churn prediction model',
  run_id: '9f3c2a1b4d5e6f708192a3b4c5d6e7f8',
  created_by: 'alice',
  created_at: '2025-03-15T10:00:00.000Z',
  last_updated: '2025-03-15T10:00:00.000Z',
} satisfies Record<keyof VersionDto, unknown>;

/** A version an alias names (`PUT`/`GET .../aliases/champion`). */
export const ALIASED_VERSION_EXAMPLE = {
  ...REGISTERED_VERSION_EXAMPLE,
  stage: 'production',
  aliases: ['champion'],
  last_updated: '2025-03-16T09:30:00.000Z',
} satisfies Record<keyof VersionDto, unknown>;

export class VersionListDto {
  versions!: VersionDto[];
}
