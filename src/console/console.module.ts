import { Logger, Module, OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { Express, Request, Response } from 'express';
import { API_PREFIX } from '../common/http/api-prefix';
import { AppConfig } from '../config/app-config';
import {
  CONSOLE_FILES,
  ConsoleBundle,
  consoleBundleDir,
  consoleConfig,
  consoleCsp,
  type ConsoleFile,
} from './console-assets';

const logger = new Logger('ConsoleModule');

/**
 * The approvers' console at /ui: a static page (built by scripts/build-ui.mjs) that calls the
 * API from the same origin with the user's bearer token. Its routes are plain Express routes,
 * not controllers: they are outside the API's prefix, its guard (the page and its files hold
 * nothing of a tenant) and its OpenAPI document, as /docs is.
 */
@Module({})
export class ConsoleModule implements OnModuleInit {
  constructor(
    private readonly adapterHost: HttpAdapterHost,
    private readonly config: AppConfig,
  ) {}

  onModuleInit(): void {
    // An application context without an HTTP server (test/medium, scripts) serves nothing.
    const adapter = this.adapterHost.httpAdapter as HttpAdapterHost['httpAdapter'] | undefined;
    if (adapter === undefined) return;
    const app = adapter.getInstance<Express>();
    const bundle = new ConsoleBundle(consoleBundleDir());
    const csp = consoleCsp(this.config.ui);
    const config = JSON.stringify(consoleConfig(this.config.ui, `/${API_PREFIX}`));

    const serve = (file: ConsoleFile) => (_req: Request, res: Response) => {
      res.setHeader('Content-Security-Policy', csp);
      const body = bundle.read(file);
      if (body === undefined) {
        logger.warn(`dist/ui/${file} is missing: the console is not built`);
        res
          .status(503)
          .type('text/plain')
          .send('The console is not built: run `npm run build` (or `npm start`).\n');
        return;
      }
      res.status(200).type(CONSOLE_FILES[file]).send(body);
    };
    // '/ui' also matches '/ui/' (non-strict routing), the OIDC redirect URI.
    app.get('/ui', serve('index.html'));
    app.get('/ui/app.js', serve('app.js'));
    app.get('/ui/app.css', serve('app.css'));
    app.get('/ui/config.json', (_req: Request, res: Response) => {
      res.setHeader('Content-Security-Policy', csp);
      res.status(200).type('application/json').send(config);
    });
  }
}
