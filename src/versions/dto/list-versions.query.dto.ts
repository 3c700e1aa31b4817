import { ApiPropertyOptional } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { IsEnum, IsOptional } from 'class-validator';
import { Stage } from '../../mlflow/registry-types';
import { TenantQueryDto } from '../../common/validation/tenant-query.dto';

export const lowerCase = ({ value }: { value: unknown }): unknown =>
  typeof value === 'string' ? value.toLowerCase() : value;

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
