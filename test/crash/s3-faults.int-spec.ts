import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ServiceProcess, startService } from '../support/service-process';
import {
  call,
  checkConsistency,
  downloadSha256,
  eventually,
  rawUpload,
  registerVersion,
  token,
} from './client';
import { deployment, Deployment } from './real-stack';

const MiB = 1024 * 1024;

describe('S3 faults and SIGKILL during uploads on the real stack (crash)', () => {
  let d: Deployment;
  let dataDir: string;
  let service: ServiceProcess | undefined;
  let alice: string;
  let victor: string;

  beforeAll(async () => {
    d = await deployment('s3', { proxyS3: true });
    dataDir = mkdtempSync(join(tmpdir(), 'registry-crash-'));
    alice = await token('alice', ['editor']);
    victor = await token('victor', ['viewer']);
    service = await startService({ dataDir, env: d.env });
    await registerVersion(service.url, alice, 'baseline', randomBytes(64 * 1024));
  });

  afterAll(async () => {
    await service?.kill();
    await d?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  const notReady = (): Promise<{ id: string; status: string }[]> =>
    d.query<{ id: string; status: string }>(
      "SELECT id, status FROM artifacts WHERE status <> 'ready'",
    );

  /** An artifact id that must be unreachable and unregistrable. */
  async function expectUnreachable(url: string, id: string): Promise<void> {
    expect((await call(url, victor, 'GET', `/artifacts/${id}`)).status).toBe(404);
    expect((await downloadSha256(url, victor, id, 'model.pkl')).status).toBe(404);
    const reg = await call(url, alice, 'POST', '/models', { name: 'orphan', artifact_id: id });
    expect(reg.status).toBe(404);
    expect((await call(url, victor, 'GET', '/models/orphan')).status).toBe(404);
  }

  it('S3 cut halfway through a large upload: 503, no artifact record, nothing to register', async () => {
    const url = service!.url;
    const s3 = d.s3!;
    const readyBefore = await d.query<{ id: string }>(
      "SELECT id FROM artifacts WHERE status = 'ready'",
    );
    const cut = s3.cutAfterUpstreamBytes(12 * MiB);
    // 40 MiB sent by hand, so the test owns the socket: it stops sending once answered and
    // closes it (fetch may keep streaming a body the server no longer reads).
    const size = 40 * MiB;
    const up = rawUpload(url, alice, size);
    let answered = false;
    void up.done.then(() => (answered = true));
    for (let sent = 0; sent < size && !answered; sent += MiB) {
      if (!up.write(randomBytes(MiB))) await Promise.race([once(up.req, 'drain'), up.done]);
    }
    if (!answered) up.finish();
    const status = await up.done;
    up.req.destroy();
    await cut;
    s3.restore(); // first: a failed expectation must not leave S3 cut for the next test
    expect(status).toBe(503);

    const readyAfter = await d.query<{ id: string }>(
      "SELECT id FROM artifacts WHERE status = 'ready'",
    );
    expect(readyAfter.map((r) => r.id).sort()).toEqual(readyBefore.map((r) => r.id).sort());
    // The failed upload's row is gone, or (its cleanup could not reach S3 either) still
    // 'uploading' for the sweep: in both cases never served.
    const left = await notReady();
    process.stdout.write(
      `[crash] after S3 was cut mid-upload: ${left.length} unfinished upload row(s) left\n`,
    );
    for (const row of left) await expectUnreachable(url, row.id);
    const report = await checkConsistency(url, victor);
    expect(report.problems).toEqual([]);
    expect(report.versions).toBe(1);
  });

  it('SIGKILL while the upload streams to S3: after restart nothing of it is reachable', async () => {
    const s = service!;
    const before = new Set((await notReady()).map((r) => r.id));
    const sentBefore = d.s3!.sentUpstream;
    const up = rawUpload(s.url, alice, 24 * MiB);
    for (let i = 0; i < 12; i++) up.write(randomBytes(MiB));
    // at least one 8 MiB part has gone to S3 when the process dies
    await eventually(
      'a part on its way to S3',
      () => Promise.resolve(d.s3!.sentUpstream - sentBefore > 8 * MiB ? true : undefined),
      20_000,
      50,
    );
    await s.kill();
    expect(await up.done).toBe(-1);

    const partial = (await notReady()).filter((r) => !before.has(r.id));
    expect(partial).toHaveLength(1);
    service = await s.restart();
    await expectUnreachable(service.url, partial[0].id);
    const report = await checkConsistency(service.url, victor);
    expect(report.problems).toEqual([]);
    expect(report.versions).toBe(1);
    const next = await registerVersion(service.url, alice, 'baseline', randomBytes(4096));
    expect(next.version).toBe(2);

    // What the dead upload leaves in the bucket: its multipart upload, neither completed nor
    // aborted (invisible to GET and to listings; see the report: nothing aborts it later).
  });
});
