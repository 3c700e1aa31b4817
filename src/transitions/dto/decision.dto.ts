import { Optional } from '../../common/validation/optional';
import { ApiProperty } from '@nestjs/swagger';
import { IsNotEmpty, IsString, MaxLength } from 'class-validator';

export class ApproveDto {
  /** @example "Holdout results reviewed" */
  @Optional()
  @MaxLength(5000)
  @IsString()
  comment?: string;
}

export class CancelDto extends ApproveDto {}

export class RejectDto {
  @ApiProperty({
    description: 'Why the request is rejected (required)',
    example: 'F1 regression on the EU segment',
    minLength: 1,
    maxLength: 5000,
  })
  @MaxLength(5000)
  @IsNotEmpty({ message: 'comment must not be empty' })
  @IsString({ message: 'comment is required and must be a string' })
  comment!: string;
}
