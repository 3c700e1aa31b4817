import { ApiPropertyOptional } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { IsEnum, IsOptional } from 'class-validator';
import { Stage } from '../../mlflow/registry-types';
import { TenantQueryDto } from '../../common/validation/tenant-query.dto';
import { lowerCase } from '../../common/validation/transforms';

export class ListVersionsQueryDto extends TenantQueryDto {
  @ApiPropertyOptional({
    enum: Stage,
    enumName: 'Stage',
    description: 'Only versions in this stage',
  })
  @IsOptional()
  @Transform(lowerCase)
  @IsEnum(Stage, { message: 'stage must be one of none, staging, production, archived' })
  stage?: Stage;
}
