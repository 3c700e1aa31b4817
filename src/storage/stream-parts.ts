import type { Readable } from 'node:stream';

/** What streamParts read: the body's size, the parts it sent, and the last part, unsent. */
export interface StreamedParts {
  size: number;
  /** How many full parts went to `send` (numbered 0, 1, ... in that order). */
  sent: number;
  /** The last part: 1..partSize bytes, or empty for an empty body. */
  rest: Buffer;
}

/**
 * Reads `body` into parts of `partSize` bytes and hands each to `send`, with at most one part
 * in flight while the next one is read: the streamed upload of the object stores (S3 parts,
 * Azure blocks). A part is cut only when more follows it, so the last one is returned, not
 * sent: the caller ends the upload (a single put when nothing was sent, else the last part and
 * a commit). Two part buffers are reused for the whole body (the one being filled and the one
 * in flight): no buffer is allocated per part, so memory is two parts whatever the size (a
 * fresh buffer per part is freed only when V8 collects its handle, and with few JavaScript
 * allocations that can be many parts later).
 *
 * On a failure (the body's or a send's), the part in flight settles first (a store must not
 * receive a part after the caller aborts), the body is destroyed, and the error is rethrown.
 */
export async function streamParts(
  body: Readable,
  partSize: number,
  send: (bytes: Buffer, index: number) => Promise<void>,
): Promise<StreamedParts> {
  let fill: Buffer | undefined;
  let filled = 0;
  let spare: Buffer | undefined;
  let size = 0;
  let sent = 0;
  let inFlight: Promise<void> | undefined;
  let inFlightBuffer: Buffer | undefined;
  /** Sends the full buffer (after the part in flight, whose buffer becomes the spare). */
  const cut = async (): Promise<void> => {
    if (inFlight !== undefined) {
      await inFlight;
      inFlight = undefined;
      spare = inFlightBuffer;
    }
    inFlightBuffer = fill;
    inFlight = send(fill!, sent++);
    // Seen by the next `await inFlight` or the catch below; not an unhandled rejection.
    inFlight.catch(() => undefined);
    fill = spare;
    spare = undefined;
    filled = 0;
  };
  try {
    for await (const chunk of body) {
      const bytes = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as string);
      size += bytes.length;
      let offset = 0;
      while (offset < bytes.length) {
        if (filled === partSize) await cut();
        fill ??= Buffer.allocUnsafe(partSize);
        const copied = bytes.copy(fill, filled, offset);
        filled += copied;
        offset += copied;
      }
    }
    if (inFlight !== undefined) await inFlight;
    inFlight = undefined;
  } catch (err) {
    if (inFlight !== undefined) await inFlight.catch(() => undefined);
    if (!body.destroyed) body.destroy();
    throw err;
  }
  const rest = fill === undefined ? Buffer.alloc(0) : fill.subarray(0, filled);
  return { size, sent, rest };
}
