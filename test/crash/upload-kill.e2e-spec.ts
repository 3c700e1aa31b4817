import Sqlite from 'better-sqlite3';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
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

jest.setTimeout(90_000);

/** Every file under `dir` whose name says it is a write in progress. */
function partialFiles(dir: string): { path: string; size: number }[] {
  const found: { path: string; size: number }[] = [];
  const walk = (d: string): void => {
    for (const entry of readdirSync(d, { withFileTypes: true })) {
      const path = join(d, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.name.includes('.partial-')) found.push({ path, size: statSync(path).size });
    }
  };
  try {
    walk(dir);
  } catch {
    // not created yet
  }
  return found;
}

describe('SIGKILL in the middle of an upload, embedded (crash)', () => {
  let dataDir: string;
  let service: ServiceProcess | undefined;

  beforeAll(() => {
    dataDir = mkdtempSync(join(tmpdir(), 'registry-crash-'));
  });

  afterAll(async () => {
    await service?.kill();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('leaves no record and no reachable bytes of the partial upload; the registry stays consistent', async () => {
    service = await startService({ dataDir });
    const alice = await token('alice', ['editor']);
    const victor = await token('victor', ['viewer']);
    const model = randomBytes(64 * 1024);
    await registerVersion(service.url, alice, 'survivor', model);

    // 8 MiB declared, 3 MiB sent: the service is writing the model part when it dies.
    const upload = rawUpload(service.url, alice, 8 * 1024 * 1024);
    upload.write(randomBytes(3 * 1024 * 1024));
    const artifacts = join(dataDir, 'artifacts');
    await eventually(
      'the partial model file on disk',
      () => Promise.resolve(partialFiles(artifacts).some((f) => f.size > 0) ? true : undefined),
      10_000,
      50,
    );
    await service.kill();
    expect(await upload.done).toBe(-1); // the client saw its connection die, no answer

    // The dead upload's record: the row written before the first byte.
    const db = new Sqlite(join(dataDir, 'registry.db'), { readonly: true });
    const rows = db.prepare('SELECT id, status FROM artifacts').all() as {
      id: string;
      status: string;
    }[];
    db.close();
    const partial = rows.filter((r) => r.status !== 'ready');
    expect(partial).toHaveLength(1);
    const partialId = partial[0].id;

    service = await service.restart();
    // never reachable: no manifest, no file, cannot be registered
    expect((await call(service.url, victor, 'GET', `/artifacts/${partialId}`)).status).toBe(404);
    expect((await downloadSha256(service.url, victor, partialId, 'model.pkl')).status).toBe(404);
    const reg = await call(service.url, alice, 'POST', '/models', {
      name: 'survivor',
      artifact_id: partialId,
    });
    expect(reg.status).toBe(404);

    // every version's bytes are there and match their digest
    const report = await checkConsistency(service.url, victor);
    expect(report.problems).toEqual([]);
    expect(report.versions).toBe(1);

    // registration carries on, numbers continue
    const next = await registerVersion(service.url, alice, 'survivor', randomBytes(1024));
    expect(next.version).toBe(2);

    // On SQLite the boot sweeps what the dead process left (in the background): the partial
    // upload's files, its temporary file among them, are gone.
    await eventually(
      'no temporary file left after the restart',
      () => Promise.resolve(partialFiles(artifacts).length === 0 ? true : undefined),
      10_000,
      100,
    );
  });
});
