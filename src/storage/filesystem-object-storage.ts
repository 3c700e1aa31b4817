import { Injectable } from '@nestjs/common';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { constants as fsConstants, createWriteStream } from 'node:fs';
import { copyFile, mkdir, open, opendir, rename, rm, rmdir, stat, unlink } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { ErrorCode } from '../common/errors/error-code';
import { RegistryError } from '../common/errors/registry-error';
import { assertByteRange, assertSafeKey, ByteRange, ObjectStorage } from './object-storage';

/** `<object>.partial-<12 hex>`: the temporary file a put or copy writes before its rename. */
const TEMPORARY = /\.partial-[0-9a-f]{12}$/;

function temporaryFor(target: string): string {
  return `${target}.partial-${randomBytes(6).toString('hex')}`;
}

function isGone(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException).code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}

/** A key named like a temporary file would be taken for one by the sweep: refused. */
function assertNotTemporary(key: string): void {
  if (TEMPORARY.test(key)) throw new Error(`object key '${key}' is named like a temporary file`);
}

function fileNotFound(key: string): RegistryError {
  return new RegistryError(ErrorCode.ArtifactFileNotFound, `stored file '${key}' does not exist`);
}

/** Flushes a finished temporary file to disk, then makes it visible under its name at once. */
async function publish(temp: string, target: string): Promise<void> {
  const handle = await open(temp, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
  await rename(temp, target);
}

/**
 * Objects as files under one root directory (DATA_DIR/artifacts). Writes go to a temporary
 * file in the same directory, are flushed to disk, then renamed into place, so a reader never
 * sees a partial object and a crash leaves at most a temporary file behind, which
 * `sweepAbandonedWrites` removes.
 */
@Injectable()
export class FilesystemObjectStorage extends ObjectStorage {
  /** The temporary files this instance is writing: a sweep never touches them. */
  private readonly writing = new Set<string>();

  constructor(private readonly root: string) {
    super();
  }

  async put(key: string, body: Readable): Promise<{ size: number }> {
    assertSafeKey(key);
    assertNotTemporary(key);
    const target = join(this.root, key);
    await mkdir(dirname(target), { recursive: true });
    // The source may have been abandoned while the directory was being made.
    if (body.destroyed) throw body.errored ?? new Error('source stream was destroyed');
    const temp = temporaryFor(target);
    this.writing.add(temp);
    let size = 0;
    body.on('data', (chunk: Buffer) => {
      size += chunk.length;
    });
    const out = createWriteStream(temp, { flags: 'wx' });
    try {
      await pipeline(body, out);
      await publish(temp, target);
    } catch (err) {
      // The file may still be being opened when the source fails: remove it only once the
      // write stream is closed, or the open would re-create it after the unlink.
      if (!out.closed) await once(out, 'close').catch(() => undefined);
      await unlink(temp).catch(() => undefined);
      throw err;
    } finally {
      this.writing.delete(temp);
    }
    return { size };
  }

  async get(key: string, range?: ByteRange): Promise<Readable> {
    assertSafeKey(key);
    if (range !== undefined) assertByteRange(range);
    const path = join(this.root, key);
    // Open first so that a missing file is a clean error, not a failure half way through a response.
    const handle = await open(path, 'r').catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') throw fileNotFound(key);
      throw err;
    });
    // A range past the end of the file reads what is there, or nothing.
    return handle.createReadStream({ autoClose: true, start: range?.start, end: range?.end });
  }

  async stat(key: string): Promise<{ size: number } | null> {
    assertSafeKey(key);
    try {
      const s = await stat(join(this.root, key));
      return s.isFile() ? { size: s.size } : null;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw err;
    }
  }

  async copy(fromKey: string, toKey: string): Promise<void> {
    assertSafeKey(fromKey);
    assertSafeKey(toKey);
    assertNotTemporary(toKey);
    const source = join(this.root, fromKey);
    const target = join(this.root, toKey);
    const found = await stat(source).catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return null;
      throw err;
    });
    if (found === null || !found.isFile()) throw fileNotFound(fromKey);
    await mkdir(dirname(target), { recursive: true });
    // Same scheme as put: a temporary file next to the target, flushed, then renamed.
    const temp = temporaryFor(target);
    this.writing.add(temp);
    try {
      // A reflink where the filesystem offers one (instant, no extra space), a byte copy elsewhere.
      await copyFile(source, temp, fsConstants.COPYFILE_EXCL | fsConstants.COPYFILE_FICLONE);
      await publish(temp, target);
    } catch (err) {
      await unlink(temp).catch(() => undefined);
      // The source went away between the check and the copy.
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
        const still = await stat(source).catch(() => null);
        if (still === null) throw fileNotFound(fromKey);
      }
      throw err;
    } finally {
      this.writing.delete(temp);
    }
  }

  async deletePrefix(prefix: string): Promise<void> {
    assertSafeKey(prefix, { prefix: true });
    await rm(join(this.root, prefix), { recursive: true, force: true });
  }

  async deleteObjects(keys: readonly string[]): Promise<void> {
    for (const key of keys) assertSafeKey(key);
    const folders = new Set<string>();
    for (const key of keys) {
      const file = join(this.root, key);
      await rm(file, { force: true });
      folders.add(dirname(file));
    }
    for (const folder of folders) {
      // Only an empty folder goes: rmdir refuses one with anything left in it.
      await rmdir(folder).catch((err: NodeJS.ErrnoException) => {
        if (err.code !== 'ENOTEMPTY' && err.code !== 'EEXIST' && err.code !== 'ENOENT') throw err;
      });
    }
  }

  /**
   * Walks the whole root for temporary files (a SIGKILL mid-write leaves one for good) and
   * removes those last written more than `olderThanMs` ago (0: all), except the ones this
   * instance is writing. One directory at a time with async calls, so the event loop keeps
   * serving; files and folders that vanish meanwhile (a deletion, a rename) are skipped.
   */
  async sweepAbandonedWrites(olderThanMs: number): Promise<number> {
    const before = Date.now() - olderThanMs;
    let removed = 0;
    const sweep = async (dir: string): Promise<void> => {
      let entries;
      try {
        entries = await opendir(dir);
      } catch (err) {
        if (isGone(err)) return;
        throw err;
      }
      for await (const entry of entries) {
        const path = join(dir, entry.name);
        if (entry.isDirectory()) {
          await sweep(path);
          continue;
        }
        if (!entry.isFile() || !TEMPORARY.test(entry.name) || this.writing.has(path)) continue;
        try {
          if (olderThanMs > 0 && (await stat(path)).mtimeMs > before) continue;
          await unlink(path);
          removed++;
        } catch (err) {
          if (!isGone(err)) throw err;
        }
      }
    };
    await sweep(this.root);
    return removed;
  }

  uri(key: string): string {
    return pathToFileURL(join(this.root, key)).href;
  }

  async ping(): Promise<void> {
    await mkdir(this.root, { recursive: true });
    await stat(this.root);
  }
}
