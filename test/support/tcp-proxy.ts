import { connect, createServer, Server, Socket } from 'node:net';

export interface Target {
  host: string;
  port: number;
}

interface Hold {
  pattern: RegExp;
  matched: () => void;
  connections: Set<Connection>;
  active: boolean;
}

interface Connection {
  client: Socket;
  upstream: Socket;
  /** Answers of the upstream held back (see hold()). */
  held: Buffer[] | null;
}

/**
 * A TCP proxy on loopback between the code under test and one backend (MLflow, S3,
 * PostgreSQL), so a test can make the backend fail for that code alone (the real stack is
 * shared), each way a backend or its network fails:
 *   - cut(): every connection reset, new ones accepted and closed at once, until restore()
 *     (a backend process that died, its host still up);
 *   - down(): every connection closed and nothing listening (connection refused) until up()
 *     (a backend stopped or restarting);
 *   - blackholed: connections stay open and nothing passes either way, new ones are accepted
 *     and never answered (a host or network that drops packets); `blackholeOn` starts it at the
 *     first request that matches, that request included;
 *   - cutOn: a connection whose request matches is closed before the request goes through;
 *   - hold(): the backend acts on a request but its answer is held back;
 *   - cutAfterUpstreamBytes(): cut() in the middle of a large upload.
 * Patterns are matched against the bytes of each chunk the client sends, as latin1.
 */
export class TcpProxy {
  private server?: Server;
  private listeningOn = 0;
  private readonly connections = new Set<Connection>();
  /** Connections accepted while blackholed: never forwarded, closed by cut()/down(). */
  private readonly silent = new Set<Socket>();
  private refusing = false;
  private readonly holds: Hold[] = [];
  private upstreamBytes = 0;
  private cutAt: { bytes: number; done: () => void } | null = null;
  /** Nothing passes, in either direction, while set; up() clears it. */
  blackholed = false;
  /** Sets `blackholed` once a request matching it comes (that request does not go through). */
  blackholeOn?: RegExp;
  /** A connection whose request matches is closed, the request not sent on. */
  cutOn?: RegExp;
  /** Requests whose first bytes matched a pattern, for assertions (e.g. 'how many transition-stage calls'). */
  readonly seen: string[] = [];

  private constructor(private readonly target: Target) {}

  static async start(target: Target): Promise<TcpProxy> {
    const proxy = new TcpProxy(target);
    await proxy.listen(0);
    return proxy;
  }

  /** host:port of a URL, for start(). */
  static targetOf(url: string): Target {
    const u = new URL(url);
    return { host: u.hostname, port: Number(u.port || (u.protocol === 'https:' ? 443 : 80)) };
  }

  /** The port it listens on (the same one again after down() and up()). */
  get port(): number {
    return this.listeningOn;
  }

  /** Bytes the code under test has sent to the backend through this proxy so far. */
  get sentUpstream(): number {
    return this.upstreamBytes;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** `url` (of the backend) with the proxy's host and port: the same backend, through it. */
  through(url: string): string {
    const u = new URL(url);
    u.hostname = '127.0.0.1';
    u.port = String(this.port);
    return u.toString();
  }

  private listen(port: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const server = createServer((client) => this.accept(client));
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => {
        const address = server.address();
        this.listeningOn = typeof address === 'object' && address !== null ? address.port : 0;
        this.server = server;
        resolve();
      });
    });
  }

  private accept(client: Socket): void {
    if (this.refusing) {
      client.destroy();
      return;
    }
    if (this.blackholed) {
      client.on('error', () => undefined);
      this.silent.add(client);
      client.on('close', () => this.silent.delete(client));
      return;
    }
    const upstream = connect(this.target.port, this.target.host);
    const conn: Connection = { client, upstream, held: null };
    this.connections.add(conn);
    const drop = (): void => {
      client.destroy();
      upstream.destroy();
      this.connections.delete(conn);
    };
    client.on('error', drop);
    upstream.on('error', drop);
    client.on('close', drop);
    upstream.on('close', drop);
    client.on('data', (chunk: Buffer) => {
      if (this.blackholed) return;
      if (this.blackholeOn || this.cutOn) {
        const text = chunk.toString('latin1');
        if (this.blackholeOn?.test(text)) {
          this.blackholed = true;
          return;
        }
        if (this.cutOn?.test(text)) {
          drop();
          return;
        }
      }
      const head = chunk.subarray(0, 512).toString('latin1');
      const line = /^[A-Z]+ \S+ HTTP\/1\.[01]/.exec(head);
      if (line) this.seen.push(line[0]);
      for (const hold of this.holds) {
        if (hold.active && hold.pattern.test(head)) {
          conn.held ??= [];
          hold.connections.add(conn);
          hold.matched();
        }
      }
      upstream.write(chunk);
      this.upstreamBytes += chunk.length;
      if (this.cutAt && this.upstreamBytes >= this.cutAt.bytes) {
        const done = this.cutAt.done;
        this.cutAt = null;
        this.cut();
        done();
      }
    });
    upstream.on('data', (chunk: Buffer) => {
      if (this.blackholed) return;
      if (conn.held) conn.held.push(chunk);
      else client.write(chunk);
    });
  }

  /** Resets every connection and refuses new ones until restore(). */
  cut(): void {
    this.refusing = true;
    for (const conn of this.connections) {
      // A reset (RST) is what a dying backend's host sends. But not on a socket whose graceful
      // shutdown has begun (it ended: the peer closed first and node answered with its own FIN):
      // a reset racing that pending shutdown leaves the native TCP handle behind, and the
      // process then never exits (node spins in its environment teardown waiting for it; seen
      // in the crash suite, the same race as libp2p/js-libp2p#3597). Those get a plain destroy.
      if (conn.client.writableEnded) conn.client.destroy();
      else conn.client.resetAndDestroy();
      conn.upstream.destroy();
    }
    this.connections.clear();
    this.closeSilent();
  }

  restore(): void {
    this.refusing = false;
  }

  /** Closes every connection and stops listening, so that connecting is refused, until up(). */
  async down(): Promise<void> {
    for (const conn of this.connections) {
      conn.client.destroy();
      conn.upstream.destroy();
    }
    this.connections.clear();
    this.closeSilent();
    await this.stopListening();
  }

  /** Listens again, on the same port, and forwards again (blackholed cleared). */
  async up(): Promise<void> {
    this.blackholed = false;
    if (!this.server) await this.listen(this.listeningOn);
  }

  /**
   * Lets requests whose start matches `pattern` through to the backend (which acts on them),
   * but holds back the answer on their connection until release(). `matched` resolves when
   * the first such request went through.
   */
  hold(pattern: RegExp): { matched: Promise<void>; release: () => void } {
    let matched!: () => void;
    const promise = new Promise<void>((r) => (matched = r));
    const hold: Hold = { pattern, matched, connections: new Set(), active: true };
    this.holds.push(hold);
    return {
      matched: promise,
      release: () => {
        hold.active = false;
        for (const conn of hold.connections) {
          const held = conn.held ?? [];
          conn.held = null;
          for (const chunk of held) if (!conn.client.destroyed) conn.client.write(chunk);
        }
      },
    };
  }

  /** Cuts (as cut()) once `bytes` more bytes went from the service to the backend. */
  cutAfterUpstreamBytes(bytes: number): Promise<void> {
    return new Promise((resolve) => {
      this.cutAt = { bytes: this.upstreamBytes + bytes, done: resolve };
    });
  }

  /** cut(), and stops listening for good. */
  close(): Promise<void> {
    this.cut();
    return this.stopListening();
  }

  private closeSilent(): void {
    for (const client of this.silent) client.destroy();
    this.silent.clear();
  }

  private stopListening(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    return new Promise((resolve) => (server ? server.close(() => resolve()) : resolve()));
  }
}
