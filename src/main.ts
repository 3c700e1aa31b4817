import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { Logger } from 'nestjs-pino';
import { resolve } from 'node:path';
import { AppModule } from './app.module';
import { AccessLog } from './common/http/access-log';
import { exitOnFatalErrors } from './common/process/fatal-errors';
import { configureApp } from './app.setup';
import { AppConfig, ConfigurationError, loadConfig } from './config/app-config';
import { loadEnvironmentFile } from './config/environment-file';
import { mintTokenCommand } from './config/token-command';

function configOrExit(): AppConfig {
  loadEnvironmentFile();
  try {
    return loadConfig(process.env, { stdoutIsTTY: process.stdout.isTTY === true });
  } catch (err) {
    if (err instanceof ConfigurationError) {
      // The logger does not exist yet: the message goes straight to stderr.
      process.stderr.write(`${err.message}\n`);
      process.exit(1);
    }
    throw err;
  }
}

async function bootstrap(): Promise<void> {
  const config = configOrExit();
  const app = await NestFactory.create<NestExpressApplication>(AppModule.forRoot(config), {
    bodyParser: false,
    bufferLogs: true,
  });
  const accessLog = app.get(AccessLog);
  exitOnFatalErrors({
    logger: accessLog.logger,
    requestId: () => accessLog.currentRequestId(),
    flush: () => accessLog.flushSync(),
  });
  configureApp(app, config);
  await app.listen(config.port, config.host);
  const logger = app.get(Logger);
  // Graceful shutdown: new connections are refused, requests in flight finish, then the
  // database closes and the process exits 0. A client that never finishes does not hold the
  // exit forever: after SHUTDOWN_GRACE_MS its connection is cut.
  let stopping = false;
  const stop = async (signal: NodeJS.Signals): Promise<void> => {
    if (stopping) return;
    stopping = true;
    logger.log(`${signal} received: finishing requests in flight, then stopping`);
    const grace = setTimeout(() => {
      logger.warn(
        `requests still open after ${config.shutdownGraceMs} ms: closing their connections`,
      );
      app.getHttpServer().closeAllConnections();
    }, config.shutdownGraceMs);
    grace.unref();
    try {
      await app.close();
      process.exitCode = 0;
    } catch (err) {
      logger.error({ err }, 'shutdown failed');
      process.exitCode = 1;
    } finally {
      clearTimeout(grace);
    }
    process.exit();
  };
  process.on('SIGTERM', (signal) => void stop(signal));
  process.on('SIGINT', (signal) => void stop(signal));
  const url = `http://${config.host === '0.0.0.0' ? 'localhost' : config.host}:${config.port}`;
  logger.log(
    `Model Registry listening on ${url} (Swagger UI: ${url}/docs; data in ${config.dataDir})`,
  );
  if (config.auth.jwtSecretGenerated) {
    // The exact command, runnable as printed: `npm run token` run without this DATA_DIR would
    // make and sign with a development secret of its own (every call then a 401).
    const command = mintTokenCommand({
      dataDir: config.dataDir,
      cwd: process.cwd(),
      packageRoot: resolve(__dirname, '..'),
    });
    logger.warn(
      'AUTH_JWT_SECRET is not set: using the development secret kept in DATA_DIR. ' +
        `Mint a token with: ${command}`,
    );
  }
}

void bootstrap();
