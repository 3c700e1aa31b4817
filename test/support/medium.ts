import type { Abstract, Type } from '@nestjs/common';
import type { TestingModule } from '@nestjs/testing';
import { Test } from '@nestjs/testing';
import { randomBytes } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { Readable } from 'node:stream';
import { AppModule } from '../../src/app.module';
import type { Caller } from '../../src/common/auth/caller.decorator';
import type { Role } from '../../src/common/auth/roles';
import { loadConfig } from '../../src/config/app-config';
import { Database } from '../../src/database/database';
import { MlflowRegistry } from '../../src/mlflow/mlflow-registry';
import { FaultyRegistry } from './faulty-registry';
import { removeDir, tempDataDir, TEST_SECRET } from './test-app';

/**
 * Service-level ("medium") tests: the real modules, repositories and migrations on a temporary
 * SQLite file and the embedded backend, without HTTP, the backend a FaultyRegistry so that one
 * test can make one call fail. Each test file gets its own.
 */
export interface Medium {
  module: TestingModule;
  registry: FaultyRegistry;
  database: Database;
  get<T>(type: Type<T> | Abstract<T>): T;
  close(): Promise<void>;
}

export async function medium(env: Record<string, string> = {}): Promise<Medium> {
  const dataDir = tempDataDir();
  const config = loadConfig({
    DATA_DIR: dataDir,
    AUTH_JWT_SECRET: TEST_SECRET,
    LOG_LEVEL: 'silent',
    // The background loops run only when a test asks them to.
    APPROVAL_RETRY_INTERVAL_MS: '3600000',
    ...env,
  });
  const module = await Test.createTestingModule({ imports: [AppModule.forRoot(config)] })
    .overrideProvider(MlflowRegistry)
    .useClass(FaultyRegistry)
    .compile();
  module.useLogger(false);
  await module.init();
  return {
    module,
    registry: module.get<MlflowRegistry, FaultyRegistry>(MlflowRegistry),
    database: module.get(Database),
    get: (type) => module.get(type),
    close: async () => {
      await module.close();
      removeDir(dataDir);
    },
  };
}

export function callerOf(
  subject: string,
  roles: Role[],
  tenant = 'acme-corp',
  actingOn = tenant,
): Caller {
  return { principal: { subject, tenantId: tenant, roles }, tenant: actingOn };
}

const BOUNDARY = 'medium-boundary';

/** An upload as the artifacts service receives it: a multipart request stream. */
export function uploadRequest(
  parts: { name: string; filename?: string; bytes: Buffer }[] = [
    { name: 'model', filename: 'model.pkl', bytes: randomBytes(512) },
  ],
): IncomingMessage {
  const chunks: Buffer[] = [];
  for (const p of parts) {
    const filename = p.filename === undefined ? '' : `; filename="${p.filename}"`;
    chunks.push(
      Buffer.from(
        `--${BOUNDARY}\r\nContent-Disposition: form-data; name="${p.name}"${filename}\r\n` +
          'Content-Type: application/octet-stream\r\n\r\n',
      ),
      p.bytes,
      Buffer.from('\r\n'),
    );
  }
  chunks.push(Buffer.from(`--${BOUNDARY}--\r\n`));
  const body = Buffer.concat(chunks);
  return Object.assign(Readable.from([body]), {
    headers: {
      'content-type': `multipart/form-data; boundary=${BOUNDARY}`,
      'content-length': String(body.length),
    },
  }) as unknown as IncomingMessage;
}
