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
  /** degraded: serving, but the shared cache (Redis) is away, so reads go to the backends. */
  @ApiProperty({ enum: ['ok', 'degraded', 'unavailable'], example: 'ok' })
  status!: 'ok' | 'degraded' | 'unavailable';
  @ApiProperty({
    type: 'object',
    additionalProperties: { $ref: getSchemaPath(CheckDto) },
    example: {
      database: { status: 'up' },
      registry: { status: 'up' },
      storage: { status: 'up' },
      cache: { status: 'up' },
    },
  })
  checks!: Record<string, CheckDto>;
}
