import { ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { createServer } from 'node:net';
import { join } from 'node:path';
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
      let newRequestDuringShutdown: Promise<string> = Promise.resolve('not tried');
      const boundary = 'shutdown-boundary';
      const model = randomBytes(200_000);
      const head = Buffer.from(
        `--${boundary}\r\nContent-Disposition: form-data; name="model"; filename="model.pkl"\r\n` +
          'Content-Type: application/octet-stream\r\n\r\n',
      );
      const tail = Buffer.from(`\r\n--${boundary}--\r\n`);
      const response = new Promise<{ status: number; body: string; requestId: string }>(
        (resolve, reject) => {
          const req = httpRequest(
            {
              host: '127.0.0.1',
              port,
              method: 'POST',
              path: '/api/v1/ml/registry/artifacts',
              headers: {
                Authorization: `Bearer ${token}`,
                'Content-Type': `multipart/form-data; boundary=${boundary}`,
                'Content-Length': String(head.length + model.length + tail.length),
              },
            },
            (res) => {
              let body = '';
              res.on('data', (c: Buffer) => (body += c.toString()));
              res.on('end', () =>
                resolve({
                  status: res.statusCode ?? 0,
                  body,
                  requestId: String(res.headers['x-request-id']),
                }),
              );
            },
          );
          req.on('error', reject);
          req.write(head);
          req.write(model.subarray(0, 100_000));
          setTimeout(() => {
            child.kill('SIGTERM');
            setTimeout(() => {
              // While draining, a new connection is refused.
              newRequestDuringShutdown = fetch(`http://127.0.0.1:${port}/health/live`).then(
                (r) => `answered ${r.status}`,
                () => 'refused',
              );
              setTimeout(() => {
                req.write(model.subarray(100_000));
                req.end(tail);
              }, 300);
            }, 300);
          }, 300);
        },
      );
      const answer = await response;
      expect(answer.status).toBe(201);
      expect(await newRequestDuringShutdown).toBe('refused');
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
            },
        );
      const logged = lines.find(
        (l) => l.msg === 'request completed' && l.req?.id === answer.requestId,
      );
      expect(logged).toMatchObject({
        req: { url: '/api/v1/ml/registry/artifacts' },
        res: { statusCode: 201 },
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
