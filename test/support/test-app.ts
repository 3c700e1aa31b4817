import type { Type } from '@nestjs/common';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { Test } from '@nestjs/testing';
import { SignJWT } from 'jose';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import request from 'supertest';
import type { Server } from 'node:http';
import { AppModule } from '../../src/app.module';
import { configureApp } from '../../src/app.setup';
import { AppConfig, loadConfig } from '../../src/config/app-config';
import { freshDatabase, realBackendEnv, uniqueNamespace } from './stack';

export const TEST_SECRET = 'test-secret-that-is-at-least-32-characters-long';
export const BASE = '/api/v1/ml/registry';

export type Role = 'viewer' | 'editor' | 'approver' | 'admin';

export interface TestApp {
  app: NestExpressApplication;
  http: Server;
  config: AppConfig;
  dataDir: string;
  /** A bearer token for `sub` in `tenant` with `roles`. */
  token(sub: string, roles: Role[], tenant?: string): Promise<string>;
  /** supertest agent bound to the app. */
  api(): request.Agent;
  close(): Promise<void>;
}

export function tempDataDir(): string {
  return mkdtempSync(join(tmpdir(), 'model-registry-test-'));
}

export async function mintToken(
  claims: Record<string, unknown>,
  options: { secret?: string; expiresIn?: string | number; sub?: string } = {},
): Promise<string> {
  let jwt = new SignJWT(claims).setProtectedHeader({ alg: 'HS256' }).setIssuedAt();
  if (options.sub !== undefined) jwt = jwt.setSubject(options.sub);
  jwt = jwt.setExpirationTime(options.expiresIn ?? '1h');
  return jwt.sign(new TextEncoder().encode(options.secret ?? TEST_SECRET));
}

export interface TestAppOptions {
  env?: Record<string, string>;
  dataDir?: string;
  /** Extra controllers mounted beside the real ones (e.g. a route that fails like a bug). */
  controllers?: Type[];
  /** Replace providers, e.g. to inject a failing backend. */
  override?: (
    builder: ReturnType<typeof Test.createTestingModule>,
  ) => ReturnType<typeof Test.createTestingModule>;
}

/** One deployment on the real stack per DATA_DIR: a restart (same dataDir) finds its data. */
const realDeployments = new Map<string, Promise<Record<string, string>>>();

/**
 * With REGISTRY_TEST_BACKENDS=real (the `e2e-real` jest project), every app runs on the real
 * stack: MLflow, S3, PostgreSQL and Redis, in a namespace and database of its own. Also for a
 * service started as a child process (startService), so that its suite runs on both.
 */
export function backendEnv(dataDir: string): Promise<Record<string, string>> {
  if (process.env['REGISTRY_TEST_BACKENDS'] !== 'real') return Promise.resolve({});
  let env = realDeployments.get(dataDir);
  if (env === undefined) {
    env = freshDatabase('e2e').then((databaseUrl) =>
      realBackendEnv({ namespace: uniqueNamespace('e2e'), databaseUrl }),
    );
    realDeployments.set(dataDir, env);
  }
  return env;
}

/**
 * The real application (real pipes, guards, filters, SQLite and files) on a temporary DATA_DIR;
 * on the real backends instead in the `e2e-real` project.
 */
export async function createTestApp(options: TestAppOptions = {}): Promise<TestApp> {
  const dataDir = options.dataDir ?? tempDataDir();
  const config = loadConfig({
    DATA_DIR: dataDir,
    AUTH_JWT_SECRET: TEST_SECRET,
    LOG_LEVEL: 'silent',
    APPROVAL_RETRY_INTERVAL_MS: '200',
    ...(await backendEnv(dataDir)),
    ...options.env,
  });
  let builder = Test.createTestingModule({
    imports: [AppModule.forRoot(config)],
    controllers: options.controllers ?? [],
  });
  if (options.override) builder = options.override(builder);
  const moduleRef = await builder.compile();
  const app = moduleRef.createNestApplication<NestExpressApplication>({
    bodyParser: false,
    logger: false,
  });
  configureApp(app, config);
  await app.init();
  const http: Server = app.getHttpServer();
  return {
    app,
    http,
    config,
    dataDir,
    token: (sub, roles, tenant = 'acme-corp') => mintToken({ tenant_id: tenant, roles }, { sub }),
    api: () => request.agent(http),
    close: async () => {
      await app.close();
    },
  };
}

export function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}
