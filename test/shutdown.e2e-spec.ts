import { randomBytes } from 'node:crypto';
import { startService } from './support/service-process';
import { slowUpload } from './support/slow-upload';
import { mintToken, removeDir, tempDataDir } from './support/test-app';

/**
 * The service as `npm start` runs it (dist/main.js), in its own process, logging every request.
 * The service's own shutdown grace (25 s), not the launcher's short one: the upload in flight
 * must finish within it on a loaded machine.
 */
const start = (dataDir: string, port?: number) =>
  startService({ dataDir, port, env: { LOG_LEVEL: 'info', SHUTDOWN_GRACE_MS: '25000' } });

describe('graceful shutdown (process)', () => {
  const dataDir = tempDataDir();
  afterAll(() => removeDir(dataDir));

  it('on SIGTERM finishes the upload in flight, refuses new work, exits 0, and the data is there after a restart', async () => {
    const service = await start(dataDir);
    const { child, output, port } = service;
    const exited = service.exited.then((e) => e.code);
    try {
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

      const again = await start(dataDir, port);
      const exitedAgain = again.exited.then((e) => e.code);
      try {
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
      await service.kill();
    }
  }, 120_000);
});
