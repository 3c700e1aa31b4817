/**
 * What the process does with an error nothing caught (src/common/process/fatal-errors.ts): one
 * `fatal` line naming the error and the request it happened in, exit code 70, and a new process
 * on the same DATA_DIR (what a supervisor's `restart:` does) serves everything acknowledged.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ServiceProcess, ROOT, startService } from '../support/service-process';
import { call, registerVersion, token } from './client';

jest.setTimeout(90_000);

describe('an uncaught error in the service process (crash)', () => {
  let dataDir: string;
  let service: ServiceProcess | undefined;

  beforeAll(() => {
    dataDir = mkdtempSync(join(tmpdir(), 'registry-fatal-'));
  });

  afterAll(async () => {
    await service?.kill();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('logs it fatal with the request id, exits 70, and a restart serves what was acknowledged', async () => {
    service = await startService({
      dataDir,
      nodeArgs: ['-r', join(ROOT, 'test', 'support', 'throw-after-answer.js')],
    });
    const alice = await token('alice', ['editor']);
    const v1 = await registerVersion(service.url, alice, 'kept', randomBytes(1024));

    const res = await fetch(`${service.url}/api/v1/ml/registry/models`, {
      headers: {
        Authorization: `Bearer ${alice}`,
        'X-Request-Id': 'fatal-test-42',
        'X-Test-Throw-After-Answer': '1',
      },
    });
    expect(res.status).toBe(200);
    const exit = await service.exited;
    expect(exit).toEqual({ code: 70, signal: null });

    const fatal = service
      .output()
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as Record<string, unknown>)
      .filter((line) => line['level'] === 60);
    expect(fatal).toHaveLength(1);
    expect(fatal[0]).toMatchObject({
      req: { id: 'fatal-test-42' },
      origin: 'uncaughtException',
      err: { message: 'injected: a callback that ran after the answer threw' },
    });

    // The supervisor starts a new process: what was acknowledged is there.
    service = await startService({ dataDir, port: service.port });
    const got = await call(service.url, alice, 'GET', `/models/kept/versions/${v1.version}`);
    expect(got.status).toBe(200);
    expect(got.body.artifact_id).toBe(v1.artifact_id);
  });
});
