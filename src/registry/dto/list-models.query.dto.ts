import { ApiPropertyOptional } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { IsInt, IsOptional, IsString, Max, MaxLength, Min } from 'class-validator';
import { TenantQueryDto } from '../../common/validation/tenant-query.dto';
import { toInteger } from '../../common/validation/params.dto';

export const MAX_RESULTS_LIMIT = 1000;

export class ListModelsQueryDto extends TenantQueryDto {
  @ApiPropertyOptional({
    type: 'integer',
    description: 'Page size, 1 to 1000',
    minimum: 1,
    maximum: MAX_RESULTS_LIMIT,
    default: 100,
    example: 100,
  })
  @IsOptional()
  @Transform(toInteger)
  @IsInt({ message: 'max_results must be an integer from 1 to 1000' })
  @Min(1, { message: 'max_results must be an integer from 1 to 1000' })
  @Max(MAX_RESULTS_LIMIT, { message: 'max_results must be an integer from 1 to 1000' })
  max_results?: number;

  @ApiPropertyOptional({
    type: String,
    description: 'The `next_page_token` of the previous page',
    maxLength: 2048,
  })
  @IsOptional()
  @MaxLength(2048)
  @IsString()
  page_token?: string;
}
