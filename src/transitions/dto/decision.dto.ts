import { ApiProperty } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { IsString, Matches, MaxLength } from 'class-validator';
import { blankAsAbsent, NOT_BLANK, NOT_BLANK_MESSAGE } from '../../common/validation/comments';
import { Optional } from '../../common/validation/optional';

export class ApproveDto {
  /** Empty or only whitespace counts as no comment (null). @example "Holdout results reviewed" */
  @Transform(blankAsAbsent)
  @Optional()
  @MaxLength(5000)
  @IsString()
  comment?: string;
}

export class CancelDto extends ApproveDto {}

export class RejectDto {
  @ApiProperty({
    description: 'Why the request is rejected (required; more than whitespace)',
    example: 'F1 regression on the EU segment',
    minLength: 1,
    maxLength: 5000,
  })
  @MaxLength(5000)
  @Matches(NOT_BLANK, { message: `comment ${NOT_BLANK_MESSAGE}` })
  @IsString({ message: 'comment is required and must be a string' })
  comment!: string;
}
