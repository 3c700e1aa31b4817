import { Controller, Get, Res } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { Response } from 'express';
import { Public } from '../auth/authenticated.decorator';
import { Metrics } from './metrics';

/**
 * GET /metrics on the API's port (METRICS_PORT unset): unauthenticated like /health, outside the
 * API prefix and the rate limit (it has no caller to limit). Not in the OpenAPI document, like
 * /docs: it is Prometheus's, not an API client's, and may be moved or off.
 */
@ApiExcludeController()
@Public()
@Controller('metrics')
export class MetricsController {
  constructor(private readonly metrics: Metrics) {}

  /** Written as is: Express's `send` would rewrite the content type's parameters. */
  @Get()
  async scrape(@Res() res: Response): Promise<void> {
    const text = await this.metrics.render();
    res.status(200).setHeader('Content-Type', this.metrics.contentType);
    res.setHeader('Content-Length', Buffer.byteLength(text));
    res.end(text);
  }
}
