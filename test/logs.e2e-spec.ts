import { SignJWT } from 'jose';
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  ensureBuilt,
  freePort,
  MAIN,
  ROOT,
  ServiceProcess,
  startService,
  TEST_SECRET,
} from './support/service-process';

jest.setTimeout(60_000);

const BASE = '/api/v1/ml/registry';

function editorToken(): Promise<string> {
  return new SignJWT({ tenant_id: 'acme-corp', roles: ['editor'] })
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject('alice')
    .setIssuedAt()
    .setExpirationTime('10m')
    .sign(new TextEncoder().encode(TEST_SECRET));
}

/** A 401 (no token) and a 404 (a model that does not exist), then the process's output. */
async function twoErrors(service: ServiceProcess): Promise<string> {
  expect((await fetch(`${service.url}${BASE}/models`)).status).toBe(401);
  const res = await fetch(`${service.url}${BASE}/models/no-such-model`, {
    headers: { Authorization: `Bearer ${await editorToken()}` },
  });
  expect(res.status).toBe(404);
  // the access line is written once the answer is done; the JSON one through a buffer
  await service.stop();
  return service.output();
}

const nonEmpty = (output: string): string[] => output.split('\n').filter((l) => l.trim() !== '');

describe('service logs (a real child process)', () => {
  let dataDir: string;
  beforeEach(() => {
    dataDir = mkdtempSync(join(tmpdir(), 'logs-e2e-'));
  });
  afterEach(() => rmSync(dataDir, { recursive: true, force: true }));

  it('default, stdout not a terminal: JSON lines, and each 4xx line carries the answer code and message', async () => {
    const service = await startService({ dataDir, env: { LOG_LEVEL: 'info' } });
    const lines = nonEmpty(await twoErrors(service)).map(
      (l) => JSON.parse(l) as Record<string, unknown>,
    );
    const access = (url: string): Record<string, unknown> | undefined =>
      lines.find((l) => (l.req as { url?: string } | undefined)?.url === url && 'res' in l);
    expect(access(`${BASE}/models`)).toMatchObject({
      msg: 'request completed',
      res: { statusCode: 401 },
      code: 'UNAUTHENTICATED',
      message: 'Authorization header with a bearer token is required',
    });
    expect(access(`${BASE}/models/no-such-model`)).toMatchObject({
      res: { statusCode: 404 },
      code: 'MODEL_NOT_FOUND',
      message: expect.stringContaining('no-such-model'),
      user: 'alice',
      tenant: 'acme-corp',
    });
  });

  it('LOG_FORMAT=pretty: readable lines, errors with their code and message', async () => {
    const service = await startService({
      dataDir,
      env: { LOG_LEVEL: 'info', LOG_FORMAT: 'pretty' },
    });
    const lines = nonEmpty(await twoErrors(service));
    expect(lines.filter((l) => l.trimStart().startsWith('{'))).toEqual([]);
    expect(lines).toContainEqual(
      expect.stringMatching(/^\[[\d:.]+\] INFO: Model Registry listening on http:/),
    );
    expect(lines).toContainEqual(
      expect.stringMatching(
        /^\[[\d:.]+\] INFO: GET \/api\/v1\/ml\/registry\/models 401 \d+ ms UNAUTHENTICATED: Authorization header with a bearer token is required$/,
      ),
    );
    expect(lines).toContainEqual(
      expect.stringMatching(
        /INFO: GET \/api\/v1\/ml\/registry\/models\/no-such-model 404 \d+ ms alice@acme-corp MODEL_NOT_FOUND: .*no-such-model/,
      ),
    );
  });

  it('on a terminal: readable by default, JSON with LOG_FORMAT=json', async () => {
    const onTerminal = async (env: Record<string, string>): Promise<string> => {
      const service = await underTerminal({ DATA_DIR: dataDir, ...env });
      try {
        expect((await fetch(`${service.url}${BASE}/models`)).status).toBe(401);
      } finally {
        await service.stop();
      }
      return service.output();
    };
    const pretty = await onTerminal({});
    expect(pretty).toMatch(/INFO.*GET \/api\/v1\/ml\/registry\/models 401 \d+ ms UNAUTHENTICATED/);
    expect(pretty).not.toMatch(/"msg":/);
    const json = await onTerminal({ LOG_FORMAT: 'json' });
    expect(json).toMatch(/"msg":"request completed"/);
    expect(json).toMatch(/"code":"UNAUTHENTICATED"/);
  });

  it('LOG_FORMAT with another value stops the start, naming the variable', async () => {
    ensureBuilt();
    const run = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
      execFile(
        process.execPath,
        [MAIN],
        {
          cwd: ROOT,
          env: {
            PATH: process.env['PATH'] ?? '',
            DATA_DIR: dataDir,
            AUTH_JWT_SECRET: TEST_SECRET,
            LOG_FORMAT: 'text',
          },
          timeout: 30_000,
        },
        (err, _stdout, stderr) =>
          resolve({ code: err === null ? 0 : (err.code as number | null), stderr }),
      );
    });
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/LOG_FORMAT must be json or pretty/);
  });

  it('loads pino-pretty only for readable logs', async () => {
    ensureBuilt();
    const script = `
      const { logDestination } = require(${JSON.stringify(join(ROOT, 'dist/common/http/log-destination.js'))});
      const loaded = () => Object.keys(require.cache).some((k) => k.includes('/pino-pretty/'));
      logDestination('json');
      const afterJson = loaded();
      logDestination('pretty');
      process.stdout.write(JSON.stringify({ afterJson, afterPretty: loaded() }));`;
    const out = await new Promise<string>((resolve, reject) =>
      execFile(process.execPath, ['-e', script], { cwd: ROOT }, (err, stdout) =>
        err === null ? resolve(stdout) : reject(new Error(err.message)),
      ),
    );
    expect(JSON.parse(out)).toEqual({ afterJson: false, afterPretty: true });
  });
});

/**
 * The service with its stdout on a pseudo-terminal (util-linux `script`), as when a person runs
 * `npm start`: `script` execs node, whose pid is script's child (signalled to stop it).
 */
async function underTerminal(env: Record<string, string>): Promise<ServiceProcess> {
  ensureBuilt();
  const port = await freePort();
  const child = spawn('script', ['-qfec', `exec ${process.execPath} ${MAIN}`, '/dev/null'], {
    cwd: ROOT,
    env: {
      PATH: process.env['PATH'] ?? '',
      HOME: process.env['HOME'] ?? '',
      TERM: 'xterm',
      NODE_ENV: 'test',
      HOST: '127.0.0.1',
      PORT: String(port),
      AUTH_JWT_SECRET: TEST_SECRET,
      LOG_LEVEL: 'info',
      ...env,
    },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (c: Buffer) => (output += c.toString()));
  child.stderr.on('data', (c: Buffer) => (output += c.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) =>
    child.once('exit', (code, signal) => r({ code, signal })),
  );
  const url = `http://127.0.0.1:${port}`;
  const until = Date.now() + 30_000;
  for (;;) {
    try {
      if ((await fetch(`${url}/health/ready`)).status === 200) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > until || child.exitCode !== null) {
      child.kill('SIGKILL');
      throw new Error(`the service under a terminal did not start:\n${output}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  const nodePid = (): number | undefined => {
    const pid = child.pid ?? 0;
    const children = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim();
    return children === '' ? undefined : Number(children.split(' ')[0]);
  };
  const stop = async (): Promise<{ code: number | null; signal: NodeJS.Signals | null }> => {
    if (child.exitCode === null && child.signalCode === null) {
      const pid = nodePid();
      if (pid !== undefined) process.kill(pid, 'SIGTERM');
      else child.kill('SIGTERM');
    }
    return exited;
  };
  return {
    pid: child.pid ?? -1,
    port,
    url,
    child,
    exited,
    output: () => output,
    stop,
    kill: async () => {
      await stop();
    },
    restart: () => Promise.reject(new Error('not supported')),
  };
}
