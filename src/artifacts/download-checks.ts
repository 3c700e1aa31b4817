import { createHash } from 'node:crypto';
import { Transform, TransformCallback } from 'node:stream';

/**
 * Holds the last chunk back until the whole stream was judged, so that a bad stream always
 * reaches the client as a short, cut-off response, never as a complete-looking wrong one.
 */
abstract class HeldBackCheck extends Transform {
  private held?: Buffer;

  /** Looks at a chunk on its way; an error fails the stream before the chunk is passed on. */
  protected abstract inspect(chunk: Buffer): Error | undefined;

  /** The verdict once every chunk went by. */
  protected abstract verdict(): Error | undefined;

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    const failure = this.inspect(chunk);
    if (failure !== undefined) {
      done(failure);
      return;
    }
    const previous = this.held;
    this.held = chunk;
    done(null, previous);
  }

  override _flush(done: TransformCallback): void {
    const failure = this.verdict();
    if (failure !== undefined) {
      done(failure);
      return;
    }
    done(null, this.held);
  }
}

/** Re-computes the SHA-256 of a whole file as it is sent, against the recorded one. */
export class DigestCheck extends HeldBackCheck {
  private readonly hash = createHash('sha256');

  constructor(private readonly expected: string) {
    super();
  }

  protected inspect(chunk: Buffer): undefined {
    this.hash.update(chunk);
    return undefined;
  }

  protected verdict(): Error | undefined {
    return this.hash.digest('hex') === this.expected
      ? undefined
      : new Error(`stored bytes do not match SHA-256 ${this.expected}`);
  }
}

/**
 * Counts the bytes of a part as it is sent, against the length its Content-Length announced.
 * A part cannot be checked against the whole file's digest without reading the whole file;
 * what can be checked is that the store gave exactly the bytes asked for (an object shorter
 * than recorded gives fewer).
 */
export class LengthCheck extends HeldBackCheck {
  private seen = 0;

  constructor(private readonly expected: number) {
    super();
  }

  protected inspect(chunk: Buffer): Error | undefined {
    this.seen += chunk.length;
    return this.seen > this.expected ? this.mismatch() : undefined;
  }

  protected verdict(): Error | undefined {
    return this.seen === this.expected ? undefined : this.mismatch();
  }

  private mismatch(): Error {
    return new Error(
      `the store gave ${this.seen > this.expected ? 'more' : 'fewer'} bytes than the ` +
        `${this.expected} of the range`,
    );
  }
}
