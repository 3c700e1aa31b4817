import {
  createServer,
  IncomingMessage,
  Server,
  ServerResponse,
  request as httpRequest,
} from 'node:http';
import { AddressInfo } from 'node:net';
import { agent } from './http';

export interface RecordedCall {
  method: string;
  path: string;
  body: string;
  status: number;
  /** The answer's body (kept to map what a replay creates, e.g. a new version's number). */
  response: string;
}

/**
 * An HTTP proxy in front of MLflow that records the calls the service makes (method, path,
 * body), so the same sequence can be replayed straight at MLflow. Used only to learn the
 * sequence: timed runs of the service go to MLflow directly, without this hop.
 */
export class RecordingProxy {
  readonly calls: RecordedCall[] = [];
  private server?: Server;

  constructor(private readonly upstream: string) {}

  async start(): Promise<string> {
    this.server = createServer((req, res) => this.forward(req, res));
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  /** The calls recorded since the last take(), and forget them. */
  take(): RecordedCall[] {
    return this.calls.splice(0, this.calls.length);
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) =>
      this.server ? this.server.close(() => resolve()) : resolve(),
    );
  }

  private forward(req: IncomingMessage, res: ServerResponse): void {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const headers = { ...req.headers };
      delete headers.host;
      const up = httpRequest(
        `${this.upstream}${req.url ?? '/'}`,
        { method: req.method, headers, agent },
        (upRes) => {
          const answer: Buffer[] = [];
          upRes.on('data', (c: Buffer) => answer.push(c));
          upRes.on('end', () => {
            this.calls.push({
              method: req.method ?? 'GET',
              path: req.url ?? '/',
              body: body.toString('utf8'),
              status: upRes.statusCode ?? 0,
              response: Buffer.concat(answer).toString('utf8'),
            });
          });
          res.writeHead(upRes.statusCode ?? 502, upRes.headers);
          upRes.pipe(res);
        },
      );
      up.on('error', () => {
        res.writeHead(502);
        res.end();
      });
      up.end(body);
    });
  }
}
