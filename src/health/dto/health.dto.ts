import { ApiProperty, getSchemaPath } from '@nestjs/swagger';

export class LivenessDto {
  /** @example "ok" */
  status!: string;
}

export class CheckDto {
  @ApiProperty({ enum: ['up', 'down'], example: 'up' })
  status!: 'up' | 'down';
}

export class ReadinessDto {
  @ApiProperty({ enum: ['ok', 'unavailable'], example: 'ok' })
  status!: 'ok' | 'unavailable';
  @ApiProperty({
    type: 'object',
    additionalProperties: { $ref: getSchemaPath(CheckDto) },
    example: { database: { status: 'up' }, registry: { status: 'up' }, storage: { status: 'up' } },
  })
  checks!: Record<string, CheckDto>;
}
