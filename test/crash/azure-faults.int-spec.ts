import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { azureStoreEnv, azurite, rawContainer } from '../support/azure-stack';
import { ServiceProcess, startService } from '../support/service-process';
import { TcpProxy } from '../support/tcp-proxy';
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

/**
 * s3-faults.int-spec.ts's two upload crashes with the artifacts in Azure Blob Storage (the
 * stack's Azurite, behind a proxy this test controls): the store cut half way through a large
 * upload, and the service SIGKILLed while the blocks stream.
 */
describe('Azure faults and SIGKILL during uploads on the real stack (crash)', () => {
  let d: Deployment;
  let azure: TcpProxy;
  let namespace: string;
  let dataDir: string;
  let service: ServiceProcess | undefined;
  let alice: string;
  let victor: string;

  beforeAll(async () => {
    d = await deployment('azure');
    azure = await TcpProxy.start(TcpProxy.targetOf(azurite().endpoint));
    namespace = d.env['ML_REGISTRY_NAMESPACE'];
    const env = { ...d.env };
    for (const name of ['S3_ENDPOINT', 'AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY'])
      delete env[name];
    Object.assign(env, azureStoreEnv(namespace, azure.through(azurite().endpoint)));
    dataDir = mkdtempSync(join(tmpdir(), 'registry-crash-'));
    alice = await token('alice', ['editor']);
    victor = await token('victor', ['viewer']);
    service = await startService({ dataDir, env });
    await registerVersion(service.url, alice, 'baseline', randomBytes(64 * 1024));
  });

  afterAll(async () => {
    await service?.kill();
    await d?.close();
    await azure?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  const notReady = (): Promise<{ id: string; status: string }[]> =>
    d.query<{ id: string; status: string }>(
      "SELECT id, status FROM artifacts WHERE status <> 'ready'",
    );

  /** The blobs of the deployment whose names hold `id`: none may be committed for a dead upload. */
  async function blobsOf(id: string): Promise<string[]> {
    const names: string[] = [];
    for await (const b of rawContainer().listBlobsFlat({ prefix: `${namespace}/` })) {
      if (b.name.includes(id)) names.push(b.name);
    }
    return names;
  }

  async function expectUnreachable(url: string, id: string): Promise<void> {
    expect((await call(url, victor, 'GET', `/artifacts/${id}`)).status).toBe(404);
    expect((await downloadSha256(url, victor, id, 'model.pkl')).status).toBe(404);
    const reg = await call(url, alice, 'POST', '/models', { name: 'orphan', artifact_id: id });
    expect(reg.status).toBe(404);
  }

  it('Azure cut halfway through a large upload: 503, no artifact record, nothing to register', async () => {
    const url = service!.url;
    const readyBefore = await d.query<{ id: string }>(
      "SELECT id FROM artifacts WHERE status = 'ready'",
    );
    const cut = azure.cutAfterUpstreamBytes(azure.sentUpstream + 12 * MiB);
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
    azure.restore();
    expect(status).toBe(503);

    const readyAfter = await d.query<{ id: string }>(
      "SELECT id FROM artifacts WHERE status = 'ready'",
    );
    expect(readyAfter.map((r) => r.id).sort()).toEqual(readyBefore.map((r) => r.id).sort());
    for (const row of await notReady()) {
      await expectUnreachable(url, row.id);
      expect(await blobsOf(row.id)).toEqual([]);
    }
    const report = await checkConsistency(url, victor);
    expect(report.problems).toEqual([]);
    expect(report.versions).toBe(1);
  });

  it('SIGKILL while the upload streams to Azure: nothing committed, after restart nothing reachable', async () => {
    const s = service!;
    const before = new Set((await notReady()).map((r) => r.id));
    const sentBefore = azure.sentUpstream;
    const up = rawUpload(s.url, alice, 24 * MiB);
    for (let i = 0; i < 12; i++) up.write(randomBytes(MiB));
    // at least one 8 MiB block has gone to Azure when the process dies
    await eventually(
      'a block on its way to Azure',
      () => Promise.resolve(azure.sentUpstream - sentBefore > 8 * MiB ? true : undefined),
      20_000,
      50,
    );
    await s.kill();
    expect(await up.done).toBe(-1);

    const partial = (await notReady()).filter((r) => !before.has(r.id));
    expect(partial).toHaveLength(1);
    // Its staged blocks are uncommitted: no blob to list or read (Azure drops them in a week).
    expect(await blobsOf(partial[0].id)).toEqual([]);
    service = await s.restart();
    await expectUnreachable(service.url, partial[0].id);
    const report = await checkConsistency(service.url, victor);
    expect(report.problems).toEqual([]);
    expect(report.versions).toBe(1);
    const next = await registerVersion(service.url, alice, 'baseline', randomBytes(4096));
    expect(next.version).toBe(2);
  });
});
