import { once } from 'node:events';
import { createServer, IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One request a receiver got: the raw body and headers, as a receiver verifies them. */
export interface Received {
  headers: Record<string, string>;
  body: string;
  at: number;
}

/** What the receiver does with a request: answer, or hang (never answer). */
export type Answer = { status: number; headers?: Record<string, string>; body?: string } | 'hang';

/**
 * A real HTTP receiver on 127.0.0.1 (no mock of the sender: the service's own HTTP client
 * talks to it). `answer` decides each answer; every request is kept in `received`.
 */
export class WebhookReceiver {
  readonly received: Received[] = [];
  answer: (req: Received, index: number) => Answer = () => ({ status: 204 });
  private server?: Server;
  private readonly sockets = new Set<import('node:net').Socket>();

  constructor(public port = 0) {}

  get url(): string {
    return `http://127.0.0.1:${this.port}/hooks`;
  }

  async start(): Promise<this> {
    const server = createServer((req, res) => void this.handle(req, res));
    server.on('connection', (s) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
    server.listen(this.port, '127.0.0.1');
    await once(server, 'listening');
    this.port = (server.address() as AddressInfo).port;
    this.server = server;
    return this;
  }

  /** Stops listening and cuts every connection (a receiver that went down). */
  async stop(): Promise<void> {
    const server = this.server;
    if (server === undefined) return;
    this.server = undefined;
    for (const s of this.sockets) s.destroy();
    await new Promise((r) => server.close(r));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(req.headers)) if (typeof v === 'string') headers[k] = v;
    const got: Received = { headers, body: Buffer.concat(chunks).toString('utf8'), at: Date.now() };
    this.received.push(got);
    const answer = this.answer(got, this.received.length - 1);
    if (answer === 'hang') return;
    res.writeHead(answer.status, answer.headers);
    res.end(answer.body);
  }

  /** The events received, parsed, in arrival order. */
  events(): { id: string; type: string; tenant_id: string; data: Record<string, unknown> }[] {
    return this.received.map((r) => JSON.parse(r.body) as never);
  }

  /** Waits until `predicate` holds of what was received (polls), or fails after `ms`. */
  async waitFor(predicate: (r: Received[]) => boolean, ms = 15_000): Promise<void> {
    const until = Date.now() + ms;
    while (!predicate(this.received)) {
      if (Date.now() > until) {
        throw new Error(
          `the receiver did not get what was expected within ${ms} ms; got ${this.received.length}: ` +
            this.received.map((r) => (JSON.parse(r.body) as { type: string }).type).join(', '),
        );
      }
      await new Promise((r) => setTimeout(r, 25));
    }
  }
}

/** Polls `check` until it returns a value that is not undefined. */
export async function eventually<T>(check: () => Promise<T | undefined>, ms = 15_000): Promise<T> {
  const until = Date.now() + ms;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > until) throw new Error(`not within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
