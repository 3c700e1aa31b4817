import {
  ContainerSASPermissions,
  generateBlobSASQueryParameters,
  StorageSharedKeyCredential,
} from '@azure/storage-blob';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { once } from 'node:events';
import * as net from 'node:net';
import { Readable } from 'node:stream';
import { azurite, azuriteSettings, rawContainer } from '../../../test/support/azure-stack';
import { errorOf, expectUnavailable } from '../../../test/support/errors';
import { TcpProxy } from '../../../test/support/tcp-proxy';
import { ErrorCode } from '../../common/errors/error-code';
import { RegistryError } from '../../common/errors/registry-error';
import type { AzureSettings } from '../../config/azure-settings';
import { describeObjectStorageContract } from '../object-storage.contract';
import { AzureObjectStorage, type AzureStorageOptions } from './azure-object-storage';

const MiB = 1024 * 1024;
const runPrefix = `it-${randomUUID().slice(0, 8)}/`;

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** Fails with `err` after `after` bytes. */
function failingSource(after: number, err = new Error('client went away')): Readable {
  let sent = 0;
  return new Readable({
    read() {
      if (sent >= after) {
        this.destroy(err);
        return;
      }
      const chunk = randomBytes(Math.min(MiB, after - sent));
      sent += chunk.length;
      this.push(chunk);
    },
  });
}

async function listNames(prefix: string, container = azurite().container): Promise<string[]> {
  const names: string[] = [];
  for await (const b of rawContainer(container).listBlobsFlat({ prefix })) names.push(b.name);
  return names;
}

describeObjectStorageContract('azure (Azurite)', () => {
  const storage = new AzureObjectStorage(azuriteSettings({ prefix: runPrefix }));
  return Promise.resolve({ storage, teardown: () => Promise.resolve() });
});

describeObjectStorageContract('azure (Azurite), signed with a SAS token', () => {
  const a = azurite();
  const sas = generateBlobSASQueryParameters(
    {
      containerName: a.container,
      permissions: ContainerSASPermissions.parse('racwdl'),
      expiresOn: new Date(Date.now() + 60 * 60 * 1000),
    },
    new StorageSharedKeyCredential(a.account, a.key),
  ).toString();
  const storage = new AzureObjectStorage(
    azuriteSettings({ prefix: `${runPrefix}sas/`, credential: { kind: 'sas', token: sas } }),
  );
  return Promise.resolve({ storage, teardown: () => Promise.resolve() });
});

describe('AzureObjectStorage (Azurite)', () => {
  const raw = rawContainer();
  const open = (overrides: Partial<AzureSettings> = {}, options: AzureStorageOptions = {}) =>
    new AzureObjectStorage(azuriteSettings({ prefix: runPrefix, ...overrides }), options);
  let counter = 0;
  const key = (file = 'model.pkl') => `t${++counter}/artifacts/a/${file}`;

  afterAll(async () => {
    for (const name of await listNames(runPrefix)) await raw.deleteBlob(name);
  });

  it('names objects wasbs://<container>@<account>.blob.core.windows.net/<prefix><key>', () => {
    const { container, account } = azurite();
    expect(open().uri('acme/artifacts/a1/model.pkl')).toBe(
      `wasbs://${container}@${account}.blob.core.windows.net/${runPrefix}acme/artifacts/a1/model.pkl`,
    );
    expect(open({ prefix: '' }).uri('acme/artifacts/a1/model.pkl')).toBe(
      `wasbs://${container}@${account}.blob.core.windows.net/acme/artifacts/a1/model.pkl`,
    );
  });

  it('stores objects under the configured prefix, with their content type', async () => {
    const k = key();
    await open().put(k, Readable.from([Buffer.from('under the prefix')]), {
      contentType: 'application/octet-stream',
    });
    const props = await raw.getBlobClient(runPrefix + k).getProperties();
    expect(props.contentLength).toBe(16);
    expect(props.contentType).toBe('application/octet-stream');
  });

  it('uploads a 26 MiB body as 8 MiB blocks committed once, and gives back the same bytes', async () => {
    const storage = open();
    const k = key();
    const bytes = randomBytes(26 * MiB);
    const chunks = [
      bytes.subarray(0, 1000),
      bytes.subarray(1000, 9 * MiB),
      bytes.subarray(9 * MiB),
    ];
    expect(await storage.put(k, Readable.from(chunks), { contentType: 'x/y' })).toEqual({
      size: bytes.length,
    });
    const list = await raw.getBlockBlobClient(runPrefix + k).getBlockList('all');
    expect(list.committedBlocks?.map((b) => b.size)).toEqual([8 * MiB, 8 * MiB, 8 * MiB, 2 * MiB]);
    expect(list.uncommittedBlocks ?? []).toEqual([]);
    expect((await raw.getBlobClient(runPrefix + k).getProperties()).contentType).toBe('x/y');
    const back = await readAll(await storage.get(k));
    expect(createHash('sha256').update(back).digest('hex')).toBe(
      createHash('sha256').update(bytes).digest('hex'),
    );
  });

  it('commits nothing when the source fails after 20 MiB: the previous blob stays, a new key stays empty', async () => {
    const storage = open();
    const k = key();
    await storage.put(k, Readable.from([Buffer.from('previous')]));
    const err = await errorOf(storage.put(k, failingSource(20 * MiB)));
    expect((err as Error).message).toBe('client went away');
    expect((await readAll(await storage.get(k))).toString()).toBe('previous');
    const fresh = key();
    await expect(storage.put(fresh, failingSource(17 * MiB))).rejects.toThrow('client went away');
    expect(await storage.stat(fresh)).toBeNull();
    expect(await listNames(runPrefix + fresh)).toEqual([]);
  });

  it('creates a missing container on first use', async () => {
    const fresh = `it-container-${randomUUID().slice(0, 8)}`;
    expect(await rawContainer(fresh).exists()).toBe(false);
    const storage = open({ container: fresh, prefix: 'p/' });
    expect(await storage.stat('a/b.txt')).toBeNull();
    expect(await rawContainer(fresh).exists()).toBe(true);
    await storage.put('a/b.txt', Readable.from([Buffer.from('first use')]));
    expect(
      (await rawContainer(fresh).getBlobClient('p/a/b.txt').getProperties()).contentLength,
    ).toBe(9);
    await rawContainer(fresh).delete();
  });

  it('deletes a prefix holding more than one listing page and batch (256 blobs)', async () => {
    const storage = open();
    const prefix = `t${++counter}/artifacts/many/`;
    const names = Array.from({ length: 300 }, (_, i) => `${runPrefix}${prefix}f${i}`);
    for (let i = 0; i < names.length; i += 50) {
      await Promise.all(
        names.slice(i, i + 50).map((n) => raw.getBlockBlobClient(n).upload('x', 1)),
      );
    }
    await storage.deletePrefix(prefix);
    expect(await listNames(runPrefix + prefix)).toEqual([]);
  });

  it('deletes 300 named blobs in batches, the missing ones among them fine', async () => {
    const storage = open();
    const keys = Array.from({ length: 300 }, (_, i) => `t${counter}/artifacts/named/f${i}`);
    await Promise.all(
      keys.slice(0, 20).map((k) => storage.put(k, Readable.from([Buffer.from('x')]))),
    );
    await storage.deleteObjects(keys);
    expect(await listNames(`${runPrefix}t${counter}/artifacts/named/`)).toEqual([]);
  });

  // Azurite through a proxy told to misbehave: stop listening (down), swallow bytes (hang), or
  // reset every connection once so many bytes went through.
  describe('through a faulty proxy', () => {
    let proxy: TcpProxy;
    beforeEach(async () => {
      proxy = await TcpProxy.start(TcpProxy.targetOf(azurite().endpoint));
    });
    afterEach(() => proxy.close());
    const viaProxy = (overrides: Partial<AzureSettings> = {}, options: AzureStorageOptions = {}) =>
      open({ endpoint: proxy.through(azurite().endpoint), ...overrides }, options);

    it('commits nothing when Azure is cut half way through the blocks: 503, the previous blob kept', async () => {
      const storage = viaProxy({}, { requestTimeoutMs: 2000 });
      const k = key();
      await storage.put(k, Readable.from([Buffer.from('previous')]));
      const cut = proxy.cutAfterUpstreamBytes(proxy.sentUpstream + 12 * MiB);
      const err = await errorOf(storage.put(k, failingSource(30 * MiB, new Error('not reached'))));
      await cut;
      proxy.restore();
      expectUnavailable(err);
      expect((await readAll(await storage.get(k))).toString()).toBe('previous');
    });

    it('cuts a download whose connection goes silent, after the idle timeout', async () => {
      const storage = viaProxy({}, { transferIdleTimeoutMs: 1000 });
      const k = key();
      await open().put(k, Readable.from([randomBytes(24 * MiB)]));
      const stream = await storage.get(k);
      const started = Date.now();
      let received = 0;
      proxy.blackholed = true;
      const err = await errorOf(
        (async () => {
          for await (const chunk of stream) received += (chunk as Buffer).length;
        })(),
      );
      const elapsed = Date.now() - started;
      expect(err).toBeDefined();
      expect(received).toBeLessThan(24 * MiB);
      expect(elapsed).toBeGreaterThanOrEqual(900);
      expect(elapsed).toBeLessThan(5000);
    });

    it('fails an upload whose store stops answering, after the time limit', async () => {
      const storage = viaProxy({}, { transferIdleTimeoutMs: 1000, requestTimeoutMs: 1000 });
      await storage.ping();
      proxy.blackholed = true;
      const started = Date.now();
      const body = Readable.from(Array.from({ length: 24 }, () => randomBytes(MiB)));
      const k = key();
      expectUnavailable(await errorOf(storage.put(k, body)));
      expect(Date.now() - started).toBeLessThan(5000);
      proxy.blackholed = false;
      expect(await open().stat(k)).toBeNull();
    });

    it('boots with Azure down, reports it, and creates the container once it is back (no restart)', async () => {
      const fresh = `it-container-${randomUUID().slice(0, 8)}`;
      await proxy.down();
      const storage = viaProxy({ container: fresh, prefix: '' }, { requestTimeoutMs: 2000 });
      expectUnavailable(await errorOf(storage.ping()));
      expectUnavailable(await errorOf(storage.put('a/b.txt', Readable.from([Buffer.from('x')]))));
      await proxy.up();
      await expect(storage.ping()).resolves.toBeUndefined();
      expect(await rawContainer(fresh).exists()).toBe(true);
      await storage.put('a/b.txt', Readable.from([Buffer.from('back')]));
      expect((await readAll(await storage.get('a/b.txt'))).toString()).toBe('back');
      await rawContainer(fresh).delete();
    });
  });

  describe('fault behaviour', () => {
    it('answers BACKEND_UNAVAILABLE at once when nothing listens on the port', async () => {
      const server = net.createServer();
      server.listen(0, '127.0.0.1');
      await once(server, 'listening');
      const port = (server.address() as net.AddressInfo).port;
      await new Promise((resolve) => server.close(resolve));
      const storage = open({ endpoint: `http://127.0.0.1:${port}/${azurite().account}` });
      for (const call of [
        () => storage.ping(),
        () => storage.stat('a/b'),
        () => storage.put('a/b', Readable.from([Buffer.from('x')])),
      ]) {
        const started = Date.now();
        expectUnavailable(await errorOf(call()));
        expect(Date.now() - started).toBeLessThan(1000);
      }
    });

    it('answers BACKEND_UNAVAILABLE within the timeout when the store accepts and never answers', async () => {
      const sockets: net.Socket[] = [];
      const server = net.createServer((socket) => {
        sockets.push(socket);
        socket.on('error', () => undefined);
        socket.resume();
      });
      server.listen(0, '127.0.0.1');
      await once(server, 'listening');
      const port = (server.address() as net.AddressInfo).port;
      try {
        const storage = open(
          { endpoint: `http://127.0.0.1:${port}/${azurite().account}` },
          { requestTimeoutMs: 1000 },
        );
        for (const call of [
          () => storage.ping(),
          () => storage.stat('a/b'),
          () => storage.get('a/b'),
        ]) {
          const started = Date.now();
          expectUnavailable(await errorOf(call()));
          const elapsed = Date.now() - started;
          expect(elapsed).toBeGreaterThanOrEqual(900);
          expect(elapsed).toBeLessThan(3000);
        }
        await new Promise((resolve) => setTimeout(resolve, 200));
        expect(sockets.length).toBeGreaterThan(0);
        expect(sockets.filter((s) => !s.readableEnded && !s.destroyed).length).toBe(0);
      } finally {
        for (const s of sockets) s.destroy();
        await new Promise((resolve) => server.close(resolve));
      }
    });

    it('answers BACKEND_UNAVAILABLE when the account key is wrong', async () => {
      const storage = open({
        credential: { kind: 'shared-key', accountKey: Buffer.from('wrong key').toString('base64') },
      });
      expectUnavailable(await errorOf(storage.ping()));
      expect(await errorOf(storage.ping())).toBeInstanceOf(RegistryError);
      expect(ErrorCode.BackendUnavailable).toBeDefined();
    });
  });
});
