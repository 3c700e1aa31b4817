import { ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { slowUpload } from './support/slow-upload';
import { mintToken, removeDir, TEST_SECRET, tempDataDir } from './support/test-app';

const ROOT = join(__dirname, '..');

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

/** The service as `npm start` runs it, but from source, in its own process. */
function startService(
  dataDir: string,
  port: number,
): { child: ChildProcess; output: () => string } {
  const child = spawn(process.execPath, ['-r', 'ts-node/register/transpile-only', 'src/main.ts'], {
    cwd: ROOT,
    env: {
      ...process.env,
      TS_NODE_PROJECT: 'tsconfig.json',
      DATA_DIR: dataDir,
      PORT: String(port),
      HOST: '127.0.0.1',
      AUTH_JWT_SECRET: TEST_SECRET,
      LOG_LEVEL: 'info',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr.on('data', (c: Buffer) => (out += c.toString()));
  return { child, output: () => out };
}

async function waitUntilLive(port: number, timeoutMs = 60_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const ok = await fetch(`http://127.0.0.1:${port}/health/live`).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) return;
    if (Date.now() > until) throw new Error('service did not come up');
    await new Promise((r) => setTimeout(r, 200));
  }
}

const exitOf = (child: ChildProcess): Promise<number | null> =>
  new Promise((resolve) => child.once('exit', (code) => resolve(code)));

describe('graceful shutdown (process)', () => {
  const dataDir = tempDataDir();
  afterAll(() => removeDir(dataDir));

  it('on SIGTERM finishes the upload in flight, refuses new work, exits 0, and the data is there after a restart', async () => {
    const port = await freePort();
    const { child, output } = startService(dataDir, port);
    const exited = exitOf(child);
    try {
      await waitUntilLive(port);
      const token = await mintToken(
        { tenant_id: 'acme-corp', roles: ['editor'] },
        { sub: 'alice' },
      );
      const model = randomBytes(200_000);
      const upload = slowUpload(port, token, model.length);
      upload.write(model.subarray(0, 100_000));
      await new Promise((r) => setTimeout(r, 300));
      child.kill('SIGTERM');
      await new Promise((r) => setTimeout(r, 300));
      // While draining, a new connection is refused.
      const newRequestDuringShutdown = await fetch(`http://127.0.0.1:${port}/health/live`).then(
        (r) => `answered ${r.status}`,
        () => 'refused',
      );
      await new Promise((r) => setTimeout(r, 300));
      upload.write(model.subarray(100_000));
      upload.finish();
      const answer = await upload.response;
      expect(answer.status).toBe(201);
      expect(newRequestDuringShutdown).toBe('refused');
      const artifactId = (JSON.parse(answer.body) as { artifact_id: string }).artifact_id;
      expect(await exited).toBe(0);
      expect(output()).toContain('SIGTERM received');
      // Structured request logs: one JSON line per request, with its id, and no bearer token.
      const lines = output()
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map(
          (l) =>
            JSON.parse(l) as {
              msg?: string;
              req?: { id?: string; url?: string };
              res?: { statusCode?: number };
              tenant?: string;
              user?: string;
            },
        );
      const logged = lines.find(
        (l) => l.msg === 'request completed' && l.req?.id === answer.requestId,
      );
      expect(logged).toMatchObject({
        req: { url: '/api/v1/ml/registry/artifacts' },
        res: { statusCode: 201 },
        tenant: 'acme-corp',
        user: expect.any(String),
      });
      expect(output()).not.toContain(token);

      const again = startService(dataDir, port);
      const exitedAgain = exitOf(again.child);
      try {
        await waitUntilLive(port);
        const manifest = await fetch(
          `http://127.0.0.1:${port}/api/v1/ml/registry/artifacts/${artifactId}`,
          {
            headers: { Authorization: `Bearer ${token}` },
          },
        );
        expect(manifest.status).toBe(200);
        const body = (await manifest.json()) as { files: { size: number }[] };
        expect(body.files[0].size).toBe(model.length);
      } finally {
        again.child.kill('SIGTERM');
        expect(await exitedAgain).toBe(0);
      }
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  }, 120_000);
});
