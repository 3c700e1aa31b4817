import { ClientRequest, request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { TestApp } from './test-app';

export interface SlowUpload {
  /** Sends more of the model's bytes. */
  write(bytes: Buffer): void;
  /** Ends the part and the body. */
  finish(): void;
  /** The client gives up: the socket is destroyed. */
  abandon(): void;
  /** The answer, once the whole body was sent. */
  response: Promise<{ status: number; body: string; requestId: string }>;
  req: ClientRequest;
}

/** The port of the app's HTTP server, listening on loopback (started on first use). */
export async function listeningPort(t: TestApp): Promise<number> {
  if (!t.http.listening) await new Promise<void>((r) => t.http.listen(0, '127.0.0.1', r));
  return (t.http.address() as AddressInfo).port;
}

/**
 * A multipart upload of one `model` part, written by hand so a test controls when each byte
 * goes out: half an upload, a pause, a signal, the rest. `modelBytes` is the size declared in
 * Content-Length; the part's head is sent at once.
 */
export function slowUpload(
  port: number,
  token: string,
  modelBytes: number,
  path = '/api/v1/ml/registry/artifacts',
): SlowUpload {
  const boundary = 'slow-upload-boundary';
  const head = Buffer.from(
    `--${boundary}\r\nContent-Disposition: form-data; name="model"; filename="model.pkl"\r\n` +
      'Content-Type: application/octet-stream\r\n\r\n',
  );
  const tail = Buffer.from(`\r\n--${boundary}--\r\n`);
  let req!: ClientRequest;
  const response = new Promise<{ status: number; body: string; requestId: string }>(
    (resolve, reject) => {
      req = httpRequest(
        {
          host: '127.0.0.1',
          port,
          method: 'POST',
          path,
          headers: {
            Authorization: `Bearer ${token}`,
            'Content-Type': `multipart/form-data; boundary=${boundary}`,
            'Content-Length': String(head.length + modelBytes + tail.length),
          },
        },
        (res) => {
          let body = '';
          res.on('data', (c: Buffer) => (body += c.toString()));
          res.on('end', () =>
            resolve({
              status: res.statusCode ?? 0,
              body,
              requestId: String(res.headers['x-request-id']),
            }),
          );
        },
      );
      req.on('error', reject);
    },
  );
  req.write(head);
  return {
    req,
    response,
    write: (bytes) => void req.write(bytes),
    finish: () => void req.end(tail),
    abandon: () => {
      response.catch(() => undefined);
      req.destroy();
    },
  };
}
