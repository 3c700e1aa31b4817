import { createHash, randomBytes } from 'node:crypto';
import { Readable, Transform, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { DigestCheck, LengthCheck } from './download-checks';

/** Sends `chunks` through `check`; what came out, and the error if the stream failed. */
async function through(
  chunks: Buffer[],
  check: Transform,
): Promise<{ out: Buffer; error?: Error }> {
  const out: Buffer[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      out.push(chunk);
      done();
    },
  });
  try {
    await pipeline(Readable.from(chunks), check, sink);
    return { out: Buffer.concat(out) };
  } catch (err) {
    return { out: Buffer.concat(out), error: err as Error };
  }
}

const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

describe('DigestCheck', () => {
  const chunks = [randomBytes(100), randomBytes(100), randomBytes(100)];
  const whole = Buffer.concat(chunks);

  it('passes matching bytes through unchanged', async () => {
    const { out, error } = await through(chunks, new DigestCheck(sha256(whole)));
    expect(error).toBeUndefined();
    expect(Buffer.compare(out, whole)).toBe(0);
  });

  it('fails on other bytes, the last chunk held back', async () => {
    const { out, error } = await through(chunks, new DigestCheck('0'.repeat(64)));
    expect(error?.message).toMatch(/do not match SHA-256/);
    expect(out.length).toBe(200);
  });
});

describe('LengthCheck', () => {
  const chunks = [randomBytes(100), randomBytes(100), randomBytes(100)];

  it('passes exactly the announced number of bytes through unchanged', async () => {
    const { out, error } = await through(chunks, new LengthCheck(300));
    expect(error).toBeUndefined();
    expect(Buffer.compare(out, Buffer.concat(chunks))).toBe(0);
  });

  it('fails on fewer bytes, the last chunk held back', async () => {
    const { out, error } = await through(chunks, new LengthCheck(301));
    expect(error?.message).toMatch(/fewer bytes than the 301/);
    expect(out.length).toBe(200);
  });

  it('fails on more bytes without passing the announced number on', async () => {
    const { out, error } = await through(chunks, new LengthCheck(200));
    expect(error?.message).toMatch(/more bytes than the 200/);
    expect(out.length).toBeLessThan(200);
  });

  it('passes an empty part', async () => {
    const { out, error } = await through([], new LengthCheck(0));
    expect(error).toBeUndefined();
    expect(out.length).toBe(0);
  });
});
