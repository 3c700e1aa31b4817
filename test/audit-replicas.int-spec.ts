import request from 'supertest';
import { auth, registerVersion } from './support/fixtures';
import { freshDatabase, stack, uniqueNamespace } from './support/stack';
import { BASE, createTestApp, removeDir, tempDataDir, TestApp } from './support/test-app';

/**
 * Two replicas appending to one tenant's chain at once, on one PostgreSQL database: the head
 * row each append locks is what keeps the chain one line, whichever replica writes.
 */
describe('audit chain across two replicas (PostgreSQL)', () => {
  let a: TestApp;
  let b: TestApp;
  let dataDir: string;

  beforeAll(async () => {
    dataDir = tempDataDir();
    const env = {
      DATABASE_URL: await freshDatabase('audit_replicas'),
      REDIS_URL: stack().redisUrl,
      ML_REGISTRY_NAMESPACE: uniqueNamespace('auditrep'),
    };
    a = await createTestApp({ env, dataDir });
    b = await createTestApp({ env, dataDir });
  });

  afterAll(async () => {
    await a?.close();
    await b?.close();
    removeDir(dataDir);
  });

  it('20 registrations and 10 transitions in parallel on both replicas form one sound chain', async () => {
    const editor = await a.token('alice', ['editor']);
    const admin = await a.token('root', ['admin']);
    const replicas = [a, b];
    const registered = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        registerVersion(replicas[i % 2], editor, `model-${i % 5}`).then((v) => ({
          name: `model-${i % 5}`,
          version: v.version,
        })),
      ),
    );
    await Promise.all(
      registered.slice(0, 10).map(({ name, version }, i) =>
        request(replicas[i % 2].http)
          .post(`${BASE}/models/${name}/versions/${version}/stage`)
          .set(...auth(editor))
          .send({ stage: 'staging' })
          .expect(200),
      ),
    );

    const page = await request(b.http)
      .get(`${BASE}/audit`)
      .set(...auth(admin))
      .expect(200);
    const entries = page.body.entries as { seq: number; prev_hash: string; hash: string }[];
    expect(entries).toHaveLength(30);
    expect(entries.map((e) => e.seq)).toEqual(Array.from({ length: 30 }, (_, i) => i + 1));
    entries.slice(1).forEach((e, i) => expect(e.prev_hash).toBe(entries[i].hash));
    for (const replica of replicas) {
      const verified = await request(replica.http)
        .get(`${BASE}/audit/verify`)
        .set(...auth(admin))
        .expect(200);
      expect(verified.body).toEqual({
        ok: true,
        entries: 30,
        head: entries[29].hash,
        first_bad: null,
      });
    }
  });
});
