import { Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { AppConfig } from '../../config/app-config';
import { Metrics } from './metrics';

/**
 * GET /metrics on a port of its own (METRICS_PORT): a bare Node server that answers nothing
 * else (404), so the scrape port can be opened to Prometheus and nothing more. It listens once
 * the application has started, on the API's HOST, and closes with it.
 */
@Injectable()
export class MetricsServer implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(MetricsServer.name);
  private readonly server: Server;

  constructor(
    private readonly config: AppConfig,
    private readonly metrics: Metrics,
  ) {
    this.server = createServer((req, res) => {
      const path = (req.url ?? '').split('?')[0];
      if (path !== '/metrics' || (req.method !== 'GET' && req.method !== 'HEAD')) {
        res.writeHead(404, { 'Content-Type': 'text/plain; charset=utf-8' }).end('not found\n');
        return;
      }
      this.metrics.render().then(
        (text) => {
          res.writeHead(200, {
            'Content-Type': this.metrics.contentType,
            'Cache-Control': 'no-store',
          });
          res.end(req.method === 'HEAD' ? undefined : text);
        },
        (err: unknown) => {
          this.logger.error({ err }, 'rendering the metrics failed');
          res.writeHead(500, { 'Content-Type': 'text/plain; charset=utf-8' }).end('error\n');
        },
      );
    });
    this.server.keepAliveTimeout = 65_000;
  }

  async onApplicationBootstrap(): Promise<void> {
    const settings = this.config.metrics;
    if (settings.serve !== 'own') return;
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(settings.port, this.config.host, () => {
        this.server.off('error', reject);
        resolve();
      });
    });
    this.logger.log(`metrics on http://${this.config.host}:${this.port}/metrics`);
  }

  /** The port it listens on (the one the OS picked for METRICS_PORT=0). */
  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  async onApplicationShutdown(): Promise<void> {
    if (!this.server.listening) return;
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
