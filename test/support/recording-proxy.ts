import {
  Agent,
  createServer,
  IncomingMessage,
  Server,
  ServerResponse,
  request as httpRequest,
} from 'node:http';
import { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';

export interface RecordedCall {
  method: string;
  path: string;
  body: string;
  status: number;
  /** The answer's body (kept to map what a replay creates, e.g. a new version's number). */
  response: string;
  /** performance.now() of the bench process when the request reached the proxy... */
  startedAt: number;
  /** ...and when the upstream's answer had been read in full. */
  endedAt: number;
  /** Whether the request copied an object on S3 (its `x-amz-copy-source` header). */
  copy: boolean;
}

/**
 * An HTTP proxy in front of MLflow (or S3) that records the calls the service makes (method,
 * path, body, answer, when): the MLflow round trips an operation costs (test/), the sequence to
 * replay straight at MLflow and a request's time split into its backend calls (bench/). A call
 * is recorded once its answer has been read. Used only to learn the calls and the timeline:
 * timed runs of the service go to the backends directly, without this hop. With `keepHost`
 * the Host header is passed on unchanged (S3 signatures cover it); `agent` is the keep-alive
 * agent the calls go out on (the bench gives its own, so both sides use one client).
 */
export class RecordingProxy {
  readonly calls: RecordedCall[] = [];
  private server?: Server;
  private readonly agent: Agent;

  constructor(
    private readonly upstream: string,
    private readonly options: { keepHost?: boolean; agent?: Agent } = {},
  ) {
    this.agent = options.agent ?? new Agent({ keepAlive: true });
  }

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
    const startedAt = performance.now();
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const headers = { ...req.headers };
      if (!this.options.keepHost) delete headers.host;
      const up = httpRequest(
        `${this.upstream}${req.url ?? '/'}`,
        { method: req.method, headers, agent: this.agent },
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
              startedAt,
              endedAt: performance.now(),
              copy: req.headers['x-amz-copy-source'] !== undefined,
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
