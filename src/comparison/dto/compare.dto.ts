import { ApiProperty } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import {
  ArrayMaxSize,
  ArrayMinSize,
  ArrayUnique,
  IsArray,
  IsInt,
  IsOptional,
  Matches,
  Min,
} from 'class-validator';
import { KEY_PATTERN } from '../../common/validation/maps';
import { TenantQueryDto } from '../../common/validation/tenant-query.dto';
import { Stage } from '../../mlflow/registry-types';
import { MetricDirection } from '../metric-direction';

const VERSIONS_MESSAGE =
  'versions must be 2 to 10 distinct version numbers separated by commas, e.g. versions=2,3';

/** "2,3" → [2, 3]; anything malformed stays a string for the validator to reject. */
const toVersionList = ({ value }: { value: unknown }): unknown =>
  typeof value === 'string' && /^\s*\d{1,9}(\s*,\s*\d{1,9})*\s*$/.test(value)
    ? value.split(',').map((v) => Number(v.trim()))
    : value;

export class CompareQueryDto extends TenantQueryDto {
  @ApiProperty({
    type: 'array',
    items: { type: 'integer', minimum: 1, maximum: 999_999_999 },
    minItems: 2,
    maxItems: 10,
    uniqueItems: true,
    example: [2, 3],
    description: '2 to 10 distinct version numbers, comma-separated: versions=2,3',
  })
  @Transform(toVersionList)
  @IsArray({ message: VERSIONS_MESSAGE })
  @ArrayMinSize(2, { message: VERSIONS_MESSAGE })
  @ArrayMaxSize(10, { message: VERSIONS_MESSAGE })
  @ArrayUnique({ message: VERSIONS_MESSAGE })
  @IsInt({ each: true, message: VERSIONS_MESSAGE })
  @Min(1, { each: true, message: VERSIONS_MESSAGE })
  versions!: number[];

  /**
   * The metric that decides: the version best on it is recommended, and the recommendation
   * says how the others moved. Every compared version must have it, e.g. f1_score (no example:
   * Swagger UI would send it with every Try it out).
   */
  @IsOptional()
  @Matches(KEY_PATTERN, {
    message: 'primary_metric must be a metric name (letters, digits, _ - . / and spaces)',
  })
  primary_metric?: string;
}

export class ComparedVersionDto {
  /** @example 3 */
  version!: number;
  @ApiProperty({
    type: 'object',
    additionalProperties: { type: 'number', nullable: true },
    description: 'Every metric any compared version has; null where this version lacks it',
    example: { f1_score: 0.912, auc_roc: 0.97 },
  })
  metrics!: Record<string, number | null>;
  @ApiProperty({ enum: Stage, enumName: 'Stage', example: Stage.Staging })
  stage!: Stage;
}

export class MetricVerdictDto {
  /** @example "f1_score" */
  name!: string;
  @ApiProperty({
    enum: MetricDirection,
    enumName: 'MetricDirection',
    example: MetricDirection.HigherIsBetter,
  })
  direction!: MetricDirection;
  /** False when some version lacks it (then it is left out of the verdict). @example true */
  compared!: boolean;
  /** The versions with the best value; several on a tie. @example [3] */
  best_versions!: number[];
}

export class ComparisonDto {
  comparison!: ComparedVersionDto[];
  /** @example "Version 3 shows improvement across all metrics: auc_roc 0.97 vs 0.96 (+0.01, +1.0%); f1_score 0.912 vs 0.895 (+0.017, +1.9%)" */
  recommendation!: string;
  /** The recommended version, or null when there is no clear winner. @example 3 */
  recommended_version!: number | null;
  metrics!: MetricVerdictDto[];
}
