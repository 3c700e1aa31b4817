import { IsNotEmpty, IsOptional, IsString, MaxLength } from 'class-validator';

export class ApproveDto {
  /** @example "Holdout results reviewed" */
  @IsOptional()
  @MaxLength(5000)
  @IsString()
  comment?: string;
}

export class CancelDto extends ApproveDto {}

export class RejectDto {
  /** Why the request is rejected (required). @example "F1 regression on the EU segment" */
  @MaxLength(5000)
  @IsNotEmpty({ message: 'comment must not be empty' })
  @IsString({ message: 'comment is required and must be a string' })
  comment!: string;
}
