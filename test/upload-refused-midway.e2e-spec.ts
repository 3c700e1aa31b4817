import { randomBytes } from 'node:crypto';
import { ClientRequest, request as httpRequest } from 'node:http';
import { Readable } from 'node:stream';
import request from 'supertest';
import { RegistryError } from '../src/common/errors/registry-error';
import { FilesystemObjectStorage } from '../src/storage/filesystem-object-storage';
import { ObjectStorage } from '../src/storage/object-storage';
import { auth } from './support/fixtures';
import { listeningPort } from './support/slow-upload';
import { BASE, createTestApp, removeDir, TestApp } from './support/test-app';

const MiB = 1024 * 1024;

/**
 * A store that fails part-way through a write, and whose cleanup then takes a while before it
 * fails too: what an object store that went down mid-upload does (every call to it waits for
 * its connection to fail).
 */
class StoreDownMidway extends FilesystemObjectStorage {
  failAfterBytes = 2 * MiB;
  cleanupMs = 600;

  override async put(key: string, body: Readable): Promise<{ size: number }> {
    let seen = 0;
    for await (const chunk of body) {
      seen += (chunk as Buffer).length;
      if (seen > this.failAfterBytes) throw RegistryError.unavailable('object storage');
    }
    return { size: seen };
  }

  override async deletePrefix(): Promise<void> {
    await new Promise((r) => setTimeout(r, this.cleanupMs));
    throw RegistryError.unavailable('object storage');
  }
}

interface Sent {
  status: number;
  body: string;
  /** How many bytes the client had written when the answer came. */
  sentWhenAnswered: number;
  /** Set when the connection failed (reset, closed) before any answer. */
  error?: string;
}

/**
 * Streams a `declared`-byte upload a MiB at a time, as fast as the server reads it, and stops
 * sending once answered (as an HTTP client that watches for an early answer does), unless
 * `keepSending`: then it goes on to the end, answer or not, and `closedAfterAnswer` tells
 * whether the server closed the connection on it.
 */
async function upload(
  port: number,
  bearer: string,
  declared: number,
  keepSending = false,
): Promise<Sent & { closedAfterAnswer: boolean }> {
  const boundary = 'refused-midway';
  const head = Buffer.from(
    `--${boundary}\r\nContent-Disposition: form-data; name="model"; filename="model.pkl"\r\n` +
      'Content-Type: application/octet-stream\r\n\r\n',
  );
  const req: ClientRequest = httpRequest({
    host: '127.0.0.1',
    port,
    method: 'POST',
    path: `${BASE}/artifacts`,
    headers: {
      Authorization: `Bearer ${bearer}`,
      'Content-Type': `multipart/form-data; boundary=${boundary}`,
      'Content-Length': String(head.length + declared),
    },
  });
  let sent = 0;
  let answer: Sent | undefined;
  let closedAfterAnswer = false;
  const done = new Promise<Sent>((resolve) => {
    req.on('response', (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => {
        answer = { status: res.statusCode ?? 0, body, sentWhenAnswered: sent };
        resolve(answer);
      });
      res.on('error', () => undefined);
    });
    req.on('error', (err) => {
      if (answer !== undefined) closedAfterAnswer = true;
      else resolve({ status: -1, body: '', sentWhenAnswered: sent, error: err.message });
    });
    req.on('close', () => {
      if (answer !== undefined && sent < declared) closedAfterAnswer = true;
    });
  });
  req.write(head);
  const block = randomBytes(MiB);
  while (sent < declared && !req.destroyed && (keepSending || answer === undefined)) {
    sent += block.length;
    if (!req.write(block)) {
      await Promise.race([writable(req), keepSending ? never : done]);
    }
  }
  const result = await done;
  if (keepSending && !req.destroyed) {
    await Promise.race([closed(req), new Promise((r) => setTimeout(r, 10_000))]);
  }
  req.destroy();
  return { ...result, closedAfterAnswer };
}

const never = new Promise<never>(() => undefined);

/** Resolves once `req` can take more bytes, or is closed (reset, ended), whichever comes first. */
function writable(req: ClientRequest): Promise<void> {
  return new Promise((resolve) => {
    const settle = (): void => {
      req.off('drain', settle).off('close', settle).off('error', settle);
      resolve();
    };
    req.on('drain', settle).on('close', settle).on('error', settle);
  });
}

function closed(req: ClientRequest): Promise<void> {
  return new Promise((resolve) => (req.destroyed ? resolve() : req.once('close', resolve)));
}

describe('an upload refused half-way while the client is still sending (e2e)', () => {
  let t: TestApp;
  let port: number;
  let editor: string;
  const store = new StoreDownMidway('/nonexistent');

  beforeAll(async () => {
    t = await createTestApp({
      override: (b) => b.overrideProvider(ObjectStorage).useValue(store),
    });
    port = await listeningPort(t);
    editor = await t.token('alice', ['editor']);
  });

  afterAll(async () => {
    await t.close();
    removeDir(t.dataDir);
  });

  it('gets its 503 although the cleanup after the failure is slow (the body is not cut before the answer)', async () => {
    // 2 MiB reach the store, then the rest is drained: past 16 MiB the server stops reading
    // until the answer is written (600 ms later), instead of resetting the connection.
    const res = await upload(port, editor, 64 * MiB);
    expect(res.error).toBeUndefined();
    expect(res.status).toBe(503);
    expect(JSON.parse(res.body)).toMatchObject({ statusCode: 503, code: 'BACKEND_UNAVAILABLE' });
    expect(res.sentWhenAnswered).toBeLessThan(64 * MiB);
  });

  it('a client that sends on regardless after the answer is cut off, and the service goes on', async () => {
    const res = await upload(port, editor, 256 * MiB, true);
    expect(res.status).toBe(503);
    expect(res.closedAfterAnswer).toBe(true);
    await request(t.http).get('/health/live').expect(200);
    const list = await request(t.http)
      .get(`${BASE}/models`)
      .set(...auth(editor));
    expect(list.status).toBe(200);
  });
});
