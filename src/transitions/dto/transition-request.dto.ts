import { Optional } from '../../common/validation/optional';
import { ApiProperty } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { IsBoolean, IsEnum, IsString, MaxLength } from 'class-validator';
import { blankAsAbsent } from '../../common/validation/comments';
import { Stage } from '../../mlflow/registry-types';
import { lowerCase } from '../../common/validation/transforms';

export class TransitionRequestDto {
  @ApiProperty({
    enum: Stage,
    enumName: 'Stage',
    example: Stage.Production,
    description:
      'none, staging and archived apply at once; production opens an approval request (202).',
  })
  @Transform(lowerCase)
  @IsEnum(Stage, { message: 'stage must be one of none, staging, production, archived' })
  stage!: Stage;

  /**
   * Why. Empty or only whitespace counts as no comment (null).
   * @example "Validated on holdout set with 0.91 F1 score"
   */
  @Transform(blankAsAbsent)
  @Optional()
  @MaxLength(5000)
  @IsString()
  comment?: string;

  /**
   * Archive the other versions in the target stage (staging or production only). Default:
   * true for production (one production version), false for staging.
   * @example true
   */
  @Optional()
  @IsBoolean({ message: 'archive_existing_versions must be a boolean' })
  archive_existing_versions?: boolean;
}
