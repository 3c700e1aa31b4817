import { connect, createServer, Server, Socket } from 'node:net';

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
 * A TCP proxy on loopback between the service and one backend (MLflow, S3), so a test can
 * take the backend away for this service alone (the real stack is shared): cut() resets every
 * connection and refuses new ones, hold() keeps back the backend's answer to one request,
 * cutAfterUpstreamBytes() cuts in the middle of a large upload.
 */
export class TcpProxy {
  private readonly connections = new Set<Connection>();
  private refusing = false;
  private readonly holds: Hold[] = [];
  private upstreamBytes = 0;
  private cutAt: { bytes: number; done: () => void } | null = null;
  /** Requests whose first bytes matched a pattern, for assertions (e.g. 'how many transition-stage calls'). */
  readonly seen: string[] = [];

  private constructor(
    private readonly server: Server,
    readonly port: number,
  ) {}

  static start(target: { host: string; port: number }): Promise<TcpProxy> {
    return new Promise((resolve, reject) => {
      let proxy!: TcpProxy;
      const server = createServer((client) => proxy.accept(client, target));
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => {
        const address = server.address();
        const port = typeof address === 'object' && address !== null ? address.port : 0;
        proxy = new TcpProxy(server, port);
        resolve(proxy);
      });
    });
  }

  /** host:port of a URL, for start(). */
  static targetOf(url: string): { host: string; port: number } {
    const u = new URL(url);
    return { host: u.hostname, port: Number(u.port || (u.protocol === 'https:' ? 443 : 80)) };
  }

  /** Bytes the service has sent to the backend through this proxy so far. */
  get sentUpstream(): number {
    return this.upstreamBytes;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  private accept(client: Socket, target: { host: string; port: number }): void {
    if (this.refusing) {
      client.destroy();
      return;
    }
    const upstream = connect(target.port, target.host);
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
  }

  restore(): void {
    this.refusing = false;
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

  close(): Promise<void> {
    this.cut();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}
