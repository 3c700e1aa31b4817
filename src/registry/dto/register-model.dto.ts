import { Optional } from '../../common/validation/optional';
import { ApiPropertyOptional } from '@nestjs/swagger';
import { IsString, Matches, MaxLength } from 'class-validator';
import { ARTIFACT_ID_PATTERN } from '../../artifacts/artifact-files';
import { IsMetricMap, IsParamMap, IsTagMap } from '../../common/validation/maps';
import { MODEL_NAME_MESSAGE, MODEL_NAME_PATTERN } from '../../common/validation/params.dto';

export class RegisterModelDto {
  /** Model name, unique per tenant; a new name creates the model, a known one adds a version. @example "churn-predictor" */
  @Matches(MODEL_NAME_PATTERN, { message: MODEL_NAME_MESSAGE })
  name!: string;

  /** The `artifact_id` returned by POST /artifacts. @example "model-xyz789" */
  @Matches(ARTIFACT_ID_PATTERN, {
    message: 'artifact_id must be an id returned by POST /artifacts (model-...)',
  })
  artifact_id!: string;

  /** Description of the version (and of the model, when this creates it). @example "XGBoost churn prediction model" */
  @Optional()
  @MaxLength(5000)
  @IsString()
  description?: string;

  @ApiPropertyOptional({
    type: 'object',
    additionalProperties: { type: 'string' },
    description: "The version's tags. Keys starting with registry. or mlflow. are reserved.",
    example: { algorithm: 'xgboost', dataset: 'customer_churn_v2', owner: 'ml-team' },
  })
  @Optional()
  @IsTagMap()
  tags?: Record<string, string>;

  @ApiPropertyOptional({
    type: 'object',
    additionalProperties: { type: 'number' },
    description: "The version's metrics; when omitted, read from the artifact's metrics.json.",
    example: { f1_score: 0.895, auc_roc: 0.96 },
  })
  @Optional()
  @IsMetricMap()
  metrics?: Record<string, number>;

  @ApiPropertyOptional({
    type: 'object',
    additionalProperties: { oneOf: [{ type: 'string' }, { type: 'number' }, { type: 'boolean' }] },
    description:
      "The version's parameters; when omitted, the hyperparameters of the artifact's config.json.",
    example: { n_estimators: 200, max_depth: 8, learning_rate: 0.05 },
  })
  @Optional()
  @IsParamMap()
  parameters?: Record<string, string | number | boolean>;
}
