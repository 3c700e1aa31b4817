import { once } from 'node:events';
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Context, durations, randomFile } from '../lib/context';
import { callOk, call, round, summarize, type LatencySummary } from '../lib/http';
import { load, type LoadResult } from '../lib/load';
import { BASE, startService, token } from '../lib/service';
import { uploadArtifact } from '../lib/upload';

export interface WebhooksRun {
  /** 'no webhook' or 'hanging receiver'. */
  receiver: string;
  /** GET a version under load (autocannon), while events are being written. */
  read: LoadResult;
  /** The writes making the events (PATCH version metadata, sequential). */
  write: LatencySummary;
  /** Deliveries that timed out (no answer within WEBHOOKS_TIMEOUT_MS) during the run. */
  pendingDeliveries?: number;
}

export interface WebhooksResult {
  runs: WebhooksRun[];
  /** Hanging / none, p50 and p99 of the reads and of the writes. */
  readP50Ratio: number;
  readP99Ratio: number;
  writeP50Ratio: number;
  writeP99Ratio: number;
}

/** A receiver that takes every request and never answers (until the bench ends). */
async function hangingReceiver(): Promise<{ url: string; close: () => Promise<void> }> {
  const held: ServerResponse[] = [];
  const server: Server = createServer((req, res) => {
    req.resume();
    held.push(res);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/hooks`,
    close: async () => {
      for (const res of held) res.destroy();
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    },
  };
}

/**
 * 6. A slow receiver while the API is under load: the same service (embedded), the same load
 * (GET a version, 10 connections) and the same stream of writes that each record an event
 * (PATCH a version's metadata), first with no webhook, then with a webhook (`*`) whose receiver
 * never answers, so every delivery slot stays busy until its 10 s timeout. The figure is a
 * ratio of the latencies, not a time.
 */
export async function webhooksUnderLoad(ctx: Context): Promise<WebhooksResult> {
  const svc = await startService('service-webhooks', {
    env: {
      WEBHOOKS_ALLOW_HTTP: 'true',
      WEBHOOKS_ALLOW_PRIVATE_NETWORKS: 'true',
      WEBHOOKS_POLL_INTERVAL_MS: '200',
      LOG_LEVEL: 'warn',
    },
  });
  const receiver = await hangingReceiver();
  try {
    const tenant = 'bench-webhooks';
    const editor = await token(tenant, ['editor']);
    const admin = await token(tenant, ['admin']);
    const headers = { authorization: `Bearer ${editor}` };
    const file = randomFile(ctx, 'webhooks.pkl', 16 * 1024);
    const { manifest } = await uploadArtifact(svc.url, editor, file);
    await callOk('POST', `${svc.url}${BASE}/models`, {
      headers,
      body: { name: 'hooked', artifact_id: manifest.artifact_id },
    });
    const { warm, run } = durations(ctx);
    const versionUrl = `${svc.url}${BASE}/models/hooked/versions/1`;

    const measure = async (label: string): Promise<Omit<WebhooksRun, 'receiver'>> => {
      await load(`${label} warm-up`, versionUrl, { durationS: warm, connections: 10, headers });
      let writing = true;
      const writes: number[] = [];
      const writer = (async () => {
        for (let i = 0; writing; i++) {
          const reply = await call('PATCH', versionUrl, {
            headers,
            body: { description: `write ${i}` },
          });
          if (reply.status !== 200) throw new Error(`PATCH answered ${reply.status}`);
          writes.push(reply.ms);
          await new Promise((r) => setTimeout(r, 20));
        }
      })();
      const read = await load(label, versionUrl, {
        durationS: run,
        connections: 10,
        headers,
        cpu: () => svc.cpuSeconds(),
      });
      writing = false;
      await writer;
      return { read, write: summarize(writes) };
    };

    const none = await measure('get version, no webhook');
    ctx.log(`  no webhook: read p99 ${none.read.p99} ms, write p99 ${none.write.p99} ms`);
    const hook = await callOk<{ id: string }>('POST', `${svc.url}${BASE}/webhooks`, {
      headers: { authorization: `Bearer ${admin}` },
      body: { url: receiver.url, events: ['*'] },
    });
    const hanging = await measure('get version, hanging receiver');
    const log = await callOk<{ deliveries: { status: string }[] }>(
      'GET',
      `${svc.url}${BASE}/webhooks/${hook.id}/deliveries?max_results=1000`,
      { headers: { authorization: `Bearer ${admin}` } },
    );
    const pending = log.deliveries.filter((d) => d.status === 'pending').length;
    ctx.log(
      `  hanging receiver: read p99 ${hanging.read.p99} ms, write p99 ${hanging.write.p99} ms, ${pending} deliveries waiting`,
    );
    const ratio = (a: number, b: number): number => round(b > 0 ? a / b : NaN, 2);
    return {
      runs: [
        { receiver: 'no webhook', ...none },
        { receiver: 'hanging receiver', ...hanging, pendingDeliveries: pending },
      ],
      readP50Ratio: ratio(hanging.read.p50, none.read.p50),
      readP99Ratio: ratio(hanging.read.p99, none.read.p99),
      writeP50Ratio: ratio(hanging.write.p50, none.write.p50),
      writeP99Ratio: ratio(hanging.write.p99, none.write.p99),
    };
  } finally {
    await receiver.close();
    await svc.stop();
  }
}
