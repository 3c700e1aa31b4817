import { BeforeApplicationShutdown, Controller, Get, HttpCode, Logger, Res } from '@nestjs/common';
import {
  ApiExtraModels,
  ApiOkResponse,
  ApiOperation,
  ApiServiceUnavailableResponse,
  ApiTags,
} from '@nestjs/swagger';
import type { Response } from 'express';
import { Public } from '../common/auth/authenticated.decorator';
import { CheckDto, LivenessDto, ReadinessDto } from './dto/health.dto';
import { MetadataCache } from '../cache/metadata-cache';
import { Database } from '../database/database';
import { MlflowRegistry } from '../mlflow/mlflow-registry';
import { ObjectStorage } from '../storage/object-storage';

const CHECK_TIMEOUT_MS = 3000;

const logger = new Logger('HealthController');

async function probe(name: string, check: () => Promise<void>): Promise<CheckDto> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      check(),
      new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`no answer within ${CHECK_TIMEOUT_MS} ms`)),
          CHECK_TIMEOUT_MS,
        );
      }),
    ]);
    return { status: 'up' };
  } catch (err) {
    // The reason goes to the log, not to an unauthenticated caller (paths, hosts, versions).
    logger.warn({ err, check: name }, 'readiness check failed');
    return { status: 'down' };
  } finally {
    clearTimeout(timer);
  }
}

@ApiTags('health')
@ApiExtraModels(CheckDto)
@Public()
@Controller('health')
export class HealthController implements BeforeApplicationShutdown {
  private draining = false;

  constructor(
    private readonly database: Database,
    private readonly registry: MlflowRegistry,
    private readonly storage: ObjectStorage,
    private readonly cache: MetadataCache,
  ) {}

  /** Stop taking traffic as soon as shutdown begins; in-flight requests still finish. */
  beforeApplicationShutdown(): void {
    this.draining = true;
  }

  @Get('live')
  @HttpCode(200)
  @ApiOperation({ summary: 'Liveness: the process is up' })
  @ApiOkResponse({ type: LivenessDto })
  live(): LivenessDto {
    return { status: 'ok' };
  }

  @Get('ready')
  @ApiOperation({
    summary: 'Readiness: every backend the service uses answers',
    description:
      'checks: database (SQLite or PostgreSQL), registry (embedded or the MLflow Tracking ' +
      'Server), storage (files or S3), cache (memory or Redis). Any one down: 503.',
  })
  @ApiOkResponse({ type: ReadinessDto })
  @ApiServiceUnavailableResponse({
    type: ReadinessDto,
    description: 'A backend is down, or the service is shutting down',
  })
  async ready(@Res({ passthrough: true }) res: Response): Promise<ReadinessDto> {
    const [database, registry, storage, cache] = await Promise.all([
      probe('database', () => this.database.ping()),
      probe('registry', () => this.registry.ping()),
      probe('storage', () => this.storage.ping()),
      probe('cache', () => this.cache.ping()),
    ]);
    const checks: Record<string, CheckDto> = { database, registry, storage, cache };
    if (this.draining) checks['shutdown'] = { status: 'down' };
    // The cache is not needed to serve (every read falls through to the backend while Redis
    // is away): a replica without it is degraded, not unready. Taking every replica out of
    // the load balancer because the shared Redis restarts would turn a slowdown into an outage.
    const ok = Object.entries(checks).every(([name, c]) => name === 'cache' || c.status === 'up');
    res.status(ok ? 200 : 503);
    if (!ok) res.setHeader('Retry-After', '5');
    const status = !ok ? 'unavailable' : cache.status === 'up' ? 'ok' : 'degraded';
    return { status, checks };
  }
}
