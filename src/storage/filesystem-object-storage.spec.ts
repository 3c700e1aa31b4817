import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
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
