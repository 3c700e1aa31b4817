import { IsNotEmpty, IsOptional, IsString, MaxLength } from 'class-validator';

export class ApproveDto {
  /** @example "Holdout results reviewed" */
  @IsOptional()
  @IsString()
  @MaxLength(5000)
  comment?: string;
}

export class CancelDto extends ApproveDto {}

export class RejectDto {
  /** Why the request is rejected (required). @example "F1 regression on the EU segment" */
  @IsString({ message: 'comment is required and must be a string' })
  @IsNotEmpty({ message: 'comment must not be empty' })
  @MaxLength(5000)
  comment!: string;
}
