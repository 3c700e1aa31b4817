import { Readable } from 'node:stream';
import { streamParts } from './stream-parts';

/** A body of `chunks` (their sizes), each filled with its index, read as a stream. */
function bodyOf(chunks: number[]): { body: Readable; bytes: Buffer } {
  const parts = chunks.map((n, i) => Buffer.alloc(n, i + 1));
  return { body: Readable.from(parts), bytes: Buffer.concat(parts) };
}

describe('streamParts', () => {
  it('cuts full parts only when more follows; the last part comes back unsent', async () => {
    const { body, bytes } = bodyOf([3, 7, 5, 5]); // 20 bytes, parts of 8: 8 + 8 sent, 4 back
    const sent: Buffer[] = [];
    const result = await streamParts(body, 8, (part, index) => {
      expect(index).toBe(sent.length);
      sent.push(Buffer.from(part)); // a copy: the buffer is reused once the send settles
      return Promise.resolve();
    });
    expect(result.size).toBe(20);
    expect(result.sent).toBe(2);
    expect(sent.map((p) => p.length)).toEqual([8, 8]);
    expect(Buffer.concat([...sent, result.rest])).toEqual(bytes);
  });

  it('sends nothing for a body of at most one part, and an exact multiple keeps its last part', async () => {
    const one = await streamParts(bodyOf([8]).body, 8, () => Promise.reject(new Error('sent')));
    expect([one.sent, one.rest.length]).toEqual([0, 8]);
    const empty = await streamParts(Readable.from([]), 8, () => Promise.reject(new Error('sent')));
    expect([empty.size, empty.sent, empty.rest.length]).toEqual([0, 0, 0]);
    const two = await streamParts(bodyOf([16]).body, 8, () => Promise.resolve());
    expect([two.sent, two.rest.length]).toEqual([1, 8]);
  });

  it('keeps at most one part in flight while reading the next', async () => {
    let inFlight = 0;
    let most = 0;
    const result = await streamParts(bodyOf(Array(40).fill(3) as number[]).body, 4, async () => {
      most = Math.max(most, ++inFlight);
      await new Promise((r) => setTimeout(r, 2));
      inFlight--;
    });
    expect(result.sent).toBe(29); // 120 bytes: 29 parts of 4 sent, the 30th back
    expect(most).toBe(1);
  });

  it('on a failed send: the error comes back, the body is destroyed, no send runs after', async () => {
    const { body } = bodyOf(Array(10).fill(8) as number[]);
    let running = 0;
    let afterFailure = 0;
    let failed = false;
    const outcome = streamParts(body, 8, async (_part, index) => {
      if (failed) afterFailure++;
      running++;
      await new Promise((r) => setTimeout(r, 2));
      running--;
      if (index === 2) {
        failed = true;
        throw new Error('store down');
      }
    });
    await expect(outcome).rejects.toThrow('store down');
    expect(running).toBe(0);
    expect(afterFailure).toBe(0);
    expect(body.destroyed).toBe(true);
  });

  it('on a failed body: the part in flight settles before the error comes back', async () => {
    let settled = false;
    const body = new Readable({ read() {} });
    body.push(Buffer.alloc(8));
    body.push(Buffer.alloc(8));
    const outcome = streamParts(body, 8, async () => {
      await new Promise((r) => setTimeout(r, 20));
      settled = true;
    });
    setTimeout(() => body.destroy(new Error('client went away')), 5);
    await expect(outcome).rejects.toThrow('client went away');
    expect(settled).toBe(true);
  });
});
