import Sqlite from 'better-sqlite3';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ServiceProcess, startService } from '../support/service-process';
import {
  call,
  checkConsistency,
  eventually,
  registerVersion,
  sleep,
  token,
  upload,
  uploadGenerated,
} from './client';

jest.setTimeout(240_000);

const MiB = 1024 * 1024;
/**
 * Big enough that copying it under v1/ (copyFile, then fsync) takes a few hundred ms on this
 * machine's ext4 (256 MiB: ~140 ms copy + ~150 ms fsync), so the kill can land inside it.
 */
const MODEL_BYTES = 256 * MiB;

/** Every temporary file (`*.partial-*`) under `dir`. */
function partialFiles(dir: string): string[] {
  try {
    return readdirSync(dir, { recursive: true, withFileTypes: true })
      .filter((e) => e.isFile() && e.name.includes('.partial-'))
      .map((e) => join(e.parentPath, e.name));
  } catch {
    return []; // not there (yet)
  }
}

describe('SIGKILL while a registration copies its files, embedded (crash)', () => {
  let dataDir: string;
  let service: ServiceProcess | undefined;

  beforeAll(() => {
    dataDir = mkdtempSync(join(tmpdir(), 'registry-crash-'));
  });

  afterAll(async () => {
    await service?.kill();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('after a restart: no temporary file left, and the registration and the model are free at once', async () => {
    // The default leases (60 s lock, 2 min claim): the point is not to wait for them.
    service = await startService({ dataDir });
    const alice = await token('alice', ['editor']);
    const victor = await token('victor', ['viewer']);
    await registerVersion(service.url, alice, 'survivor', randomBytes(64 * 1024));
    const big = await uploadGenerated(service.url, alice, MODEL_BYTES);
    expect(big.status).toBe(201);
    const bigId = big.body.artifact_id as string;
    const small = await upload(service.url, alice, randomBytes(1024));
    expect(small.status).toBe(201);
    const smallId = small.body.artifact_id as string;

    // Register the big one and SIGKILL the service as soon as its copy under v1/ is under way.
    const artifacts = join(dataDir, 'artifacts');
    const v1 = join(artifacts, 'acme-corp', 'big', 'v1');
    const registering = call(service.url, alice, 'POST', '/models', {
      name: 'big',
      artifact_id: bigId,
    }).then(
      (answer) => `answered ${answer.status}`,
      () => 'no answer',
    );
    const until = Date.now() + 30_000;
    // Bytes in the temporary file, not only the file: the copy is under way (the file appears
    // empty first, and a kill then would prove less).
    const copying = (): boolean =>
      partialFiles(v1).some((f) => {
        try {
          return statSync(f).size > 0;
        } catch {
          return false; // renamed into place meanwhile
        }
      });
    while (!copying() && Date.now() < until) await sleep(2);
    await service.kill();
    expect(await registering).toBe('no answer');
    // The kill landed mid-copy: the temporary file is there, and the registration held the
    // model's lock and the artifact's claim (no version yet).
    const leftover = partialFiles(v1);
    expect(leftover).toHaveLength(1);
    const copied = statSync(leftover[0]).size;
    expect(copied).toBeGreaterThan(0);
    const db = new Sqlite(join(dataDir, 'registry.db'), { readonly: true });
    const locks = db.prepare('SELECT model_name FROM registration_locks').all();
    const claim = db
      .prepare('SELECT model_name, model_version FROM artifacts WHERE id = ?')
      .get(bigId);
    db.close();
    expect(locks).toEqual([{ model_name: 'big' }]);
    expect(claim).toEqual({ model_name: 'big', model_version: null });

    const killedAt = Date.now();
    service = await service.restart();
    const restartedAt = Date.now();
    // At once and together: the dead registration retried (its claim taken over), and another
    // artifact for the same model (its lock free). Before, 409 for 2 min and 503 after 30 s.
    const [again, other] = await Promise.all([
      call(service.url, alice, 'POST', '/models', { name: 'big', artifact_id: bigId }, 60_000),
      call(service.url, alice, 'POST', '/models', { name: 'big', artifact_id: smallId }, 60_000),
    ]);
    const elapsed = Date.now() - restartedAt;
    expect({ again: again.status, other: other.status }).toEqual({ again: 201, other: 201 });
    expect(elapsed).toBeLessThan(15_000);
    expect([again.body.version, other.body.version].sort()).toEqual([1, 2]);
    process.stdout.write(
      `[crash] registration killed mid-copy (${(copied / MiB).toFixed(0)} of ` +
        `${MODEL_BYTES / MiB} MiB copied); ready again ${restartedAt - killedAt} ms after the ` +
        `kill; both registrations 201 within ${elapsed} ms of that\n`,
    );

    // The copy's temporary file is swept (at start, in the background); the new copies are
    // complete, so nothing named *.partial-* is left anywhere.
    await eventually(
      'no temporary file under DATA_DIR/artifacts',
      () => Promise.resolve(partialFiles(artifacts).length === 0 ? true : undefined),
      10_000,
      100,
    );
    // One version per artifact, every file downloads with its recorded digest.
    const versions = await call(service.url, victor, 'GET', '/models/big/versions');
    expect(
      (versions.body.versions as { artifact_id: string }[]).map((v) => v.artifact_id).sort(),
    ).toEqual([bigId, smallId].sort());
    const report = await checkConsistency(service.url, victor);
    expect(report.problems).toEqual([]);
    expect(report.versions).toBe(3);
    const manifest = await call(service.url, victor, 'GET', `/artifacts/${bigId}`);
    expect(manifest.body.registered_as).toEqual({ model: 'big', version: again.body.version });
  });
});
