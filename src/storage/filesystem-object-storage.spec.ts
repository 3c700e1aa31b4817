import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { FilesystemObjectStorage } from './filesystem-object-storage';
import { describeObjectStorageContract } from './object-storage.contract';

describeObjectStorageContract('filesystem', () => {
  const root = mkdtempSync(join(tmpdir(), 'storage-contract-'));
  return Promise.resolve({
    storage: new FilesystemObjectStorage(root),
    teardown: () => Promise.resolve(rmSync(root, { recursive: true, force: true })),
  });
});

describe('FilesystemObjectStorage', () => {
  it('leaves no temporary file behind after a failed write', async () => {
    const root = mkdtempSync(join(tmpdir(), 'storage-fs-'));
    try {
      const storage = new FilesystemObjectStorage(root);
      const source = new Readable({
        read() {
          this.destroy(new Error('boom'));
        },
      });
      await expect(storage.put('t/artifacts/a/model.pkl', source)).rejects.toThrow('boom');
      expect(readdirSync(join(root, 't/artifacts/a'))).toEqual([]);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  it('copies through a temporary file that does not outlive the copy', async () => {
    const root = mkdtempSync(join(tmpdir(), 'storage-fs-'));
    try {
      const storage = new FilesystemObjectStorage(root);
      await storage.put('t/artifacts/a/model.pkl', Readable.from([Buffer.from('bytes')]));
      await storage.copy('t/artifacts/a/model.pkl', 't/artifacts/b/model.pkl');
      await expect(storage.copy('t/artifacts/a/none.pkl', 't/artifacts/b/x.pkl')).rejects.toThrow(
        /does not exist/,
      );
      expect(readdirSync(join(root, 't/artifacts/b'))).toEqual(['model.pkl']);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  it('removes the folder a deletion of named objects leaves empty, and only that one', async () => {
    const root = mkdtempSync(join(tmpdir(), 'storage-fs-'));
    try {
      const storage = new FilesystemObjectStorage(root);
      await storage.put('t/artifacts/a/model.pkl', Readable.from([Buffer.from('m')]));
      await storage.put('t/artifacts/a/metrics.json', Readable.from([Buffer.from('{}')]));
      await storage.put('t/artifacts/b/model.pkl', Readable.from([Buffer.from('m')]));
      await storage.put('t/artifacts/b/config.json', Readable.from([Buffer.from('{}')]));
      await storage.deleteObjects([
        't/artifacts/a/model.pkl',
        't/artifacts/a/metrics.json',
        't/artifacts/b/model.pkl',
      ]);
      expect(readdirSync(join(root, 't/artifacts')).sort()).toEqual(['b']);
      expect(readdirSync(join(root, 't/artifacts/b'))).toEqual(['config.json']);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  it('gives a file:// URI under its root', () => {
    expect(new FilesystemObjectStorage('/data/artifacts').uri('t/artifacts/a/model.pkl')).toBe(
      'file:///data/artifacts/t/artifacts/a/model.pkl',
    );
  });
});

/** Every file under `dir`, as paths relative to it. */
function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name).slice(dir.length + 1))
    .sort();
}

describe('FilesystemObjectStorage.sweepAbandonedWrites (what a SIGKILL mid-write leaves)', () => {
  let root: string;
  let storage: FilesystemObjectStorage;

  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'storage-sweep-'));
    storage = new FilesystemObjectStorage(root);
  });

  afterEach(() => rmSync(root, { recursive: true, force: true }));

  /** A temporary file as a killed put or copy leaves it, last written `ageMs` ago. */
  const leftover = (path: string, ageMs = 0): void => {
    mkdirSync(join(root, path, '..'), { recursive: true });
    writeFileSync(join(root, path), 'half of it');
    const at = (Date.now() - ageMs) / 1000;
    utimesSync(join(root, path), at, at);
  };

  it('removes every temporary file at any depth with age 0, and no object', async () => {
    await storage.put('acme/artifacts/model-a/model.pkl', Readable.from([Buffer.from('m')]));
    await storage.put('acme/churn/v1/metrics.json', Readable.from([Buffer.from('{}')]));
    leftover('acme/churn/v1/model.pkl.partial-0123456789ab');
    leftover('acme/churn/v2/preprocessor.pkl.partial-ba9876543210');
    leftover('acme/artifacts/model-b/model.pt.partial-aaaaaaaaaaaa');
    leftover('model.pkl.partial-bbbbbbbbbbbb');
    // Named like one but not one of ours (no 12 hex digits): left alone.
    leftover('acme/churn/v1/notes.partial-xyz');

    expect(await storage.sweepAbandonedWrites(0)).toBe(4);
    expect(filesUnder(root)).toEqual([
      'acme/artifacts/model-a/model.pkl',
      'acme/churn/v1/metrics.json',
      'acme/churn/v1/notes.partial-xyz',
    ]);
    expect(await storage.sweepAbandonedWrites(0)).toBe(0);
  });

  it('with an age, removes only the temporary files untouched for longer', async () => {
    const day = 24 * 60 * 60 * 1000;
    leftover('acme/churn/v1/model.pkl.partial-0123456789ab', day + 60_000);
    leftover('acme/churn/v2/model.pkl.partial-ba9876543210', 60_000);
    expect(await storage.sweepAbandonedWrites(day)).toBe(1);
    expect(filesUnder(root)).toEqual(['acme/churn/v2/model.pkl.partial-ba9876543210']);
  });

  it('spares the temporary file of a write in progress, which then completes', async () => {
    const body = new PassThrough();
    const writing = storage.put('acme/churn/v1/model.pkl', body);
    body.write(Buffer.from('first half, '));
    const folder = join(root, 'acme/churn/v1');
    while (!existsSync(folder) || readdirSync(folder).length === 0) {
      await new Promise((r) => setTimeout(r, 5));
    }
    expect(readdirSync(folder)[0]).toMatch(/^model\.pkl\.partial-[0-9a-f]{12}$/);
    expect(await storage.sweepAbandonedWrites(0)).toBe(0);
    body.end(Buffer.from('second half'));
    expect(await writing).toEqual({ size: 23 });
    expect(readFileSync(join(folder, 'model.pkl'), 'utf8')).toBe('first half, second half');
    expect(readdirSync(folder)).toEqual(['model.pkl']);
  });

  it('finds nothing in a root that does not exist yet', async () => {
    expect(await new FilesystemObjectStorage(join(root, 'none')).sweepAbandonedWrites(0)).toBe(0);
  });

  it('copes with folders deleted while it walks them', async () => {
    for (let i = 0; i < 300; i++)
      leftover(`acme/artifacts/model-${i}/model.pkl.partial-0123456789ab`);
    const sweeping = storage.sweepAbandonedWrites(0);
    const deleting = (async () => {
      for (let i = 299; i >= 0; i--) {
        await rm(join(root, `acme/artifacts/model-${i}`), { recursive: true, force: true });
      }
    })();
    const [removed] = await Promise.all([sweeping, deleting]);
    expect(removed).toBeLessThanOrEqual(300);
    expect(filesUnder(root)).toEqual([]);
  });

  it('refuses an object key named like a temporary file', async () => {
    await expect(
      storage.put('acme/x/model.pkl.partial-0123456789ab', Readable.from([Buffer.from('x')])),
    ).rejects.toThrow(/named like a temporary file/);
  });
});
