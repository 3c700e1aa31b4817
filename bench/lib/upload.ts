import { createReadStream, statSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { performance } from 'node:perf_hooks';
import { pipeline } from 'node:stream/promises';
import { Writable } from 'node:stream';

export interface ArtifactManifest {
  artifact_id: string;
  files: { name: string; size: number; sha256: string }[];
}

/**
 * POST /artifacts as multipart/form-data: part `model` (model.pkl) streamed from `file`, and a
 * small metrics.json. Streams: the bench process never holds the file in memory.
 */
export function uploadArtifact(
  baseUrl: string,
  bearer: string,
  file: string,
  metrics: Record<string, number> = { accuracy: 0.9, loss: 0.1 },
): Promise<{ manifest: ArtifactManifest; ms: number }> {
  const boundary = `----bench${Math.random().toString(16).slice(2)}`;
  const metricsPart =
    `--${boundary}\r\nContent-Disposition: form-data; name="metrics"; filename="metrics.json"\r\n` +
    `Content-Type: application/json\r\n\r\n${JSON.stringify(metrics)}\r\n`;
  const modelHead =
    `--${boundary}\r\nContent-Disposition: form-data; name="model"; filename="model.pkl"\r\n` +
    `Content-Type: application/octet-stream\r\n\r\n`;
  const tail = `\r\n--${boundary}--\r\n`;
  const size = statSync(file).size;
  const length =
    Buffer.byteLength(metricsPart) + Buffer.byteLength(modelHead) + size + Buffer.byteLength(tail);
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      `${baseUrl}/api/v1/ml/registry/artifacts`,
      {
        method: 'POST',
        // A connection of its own: one kept alive from the transfer before may be closed by the
        // server (its keep-alive timeout) while the minutes-long file of this one is generated,
        // and reusing it is a "socket hang up".
        agent: false,
        headers: {
          authorization: `Bearer ${bearer}`,
          'content-type': `multipart/form-data; boundary=${boundary}`,
          'content-length': String(length),
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const body = Buffer.concat(chunks).toString('utf8');
          if (res.statusCode !== 201) {
            reject(new Error(`upload answered ${res.statusCode}: ${body.slice(0, 300)}`));
            return;
          }
          resolve({
            manifest: JSON.parse(body) as ArtifactManifest,
            ms: performance.now() - started,
          });
        });
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.write(metricsPart);
    req.write(modelHead);
    const source = createReadStream(file, { highWaterMark: 1024 * 1024 });
    source.on('error', reject);
    source.on('end', () => req.end(tail));
    source.pipe(req, { end: false });
  });
}

/** GET a URL and discard the body; resolves with the byte count and elapsed ms. */
export function download(
  url: string,
  headers: Record<string, string>,
): Promise<{ bytes: number; ms: number }> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { headers, agent: false }, (res) => {
      if (res.statusCode !== 200) {
        reject(new Error(`download answered ${res.statusCode}`));
        res.resume();
        return;
      }
      let bytes = 0;
      pipeline(
        res,
        new Writable({
          write(chunk: Buffer, _enc, cb) {
            bytes += chunk.length;
            cb();
          },
        }),
      ).then(() => resolve({ bytes, ms: performance.now() - started }), reject);
    });
    req.on('error', reject);
    req.end();
  });
}

/** Samples a process's RSS every `everyMs` until stopped; reports the peak. */
export class RssSampler {
  private peak = 0;
  private timer?: NodeJS.Timeout;
  constructor(private readonly read: () => number) {}
  start(everyMs = 25): this {
    this.peak = this.read();
    this.timer = setInterval(() => {
      try {
        this.peak = Math.max(this.peak, this.read());
      } catch {
        // the process ended
      }
    }, everyMs);
    return this;
  }
  stop(): number {
    clearInterval(this.timer);
    try {
      this.peak = Math.max(this.peak, this.read());
    } catch {
      // the process ended
    }
    return this.peak;
  }
}
