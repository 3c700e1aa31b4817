import { once } from 'node:events';
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Context, durations, randomFile } from '../lib/context';
import { callOk, call, round, summarize, type LatencySummary } from '../lib/http';
import { load, type LoadResult } from '../lib/load';
import { BASE, startService, token } from '../lib/service';
import { uploadArtifact } from '../lib/upload';

export interface WebhooksRun {
  /** 'no webhook', 'answering receiver' or 'answering + hanging receiver'. */
  receiver: string;
  /** 0 for the baseline without webhooks, then 1..rounds. */
  round: number;
  /** GET a version under load (autocannon), while events are being written. */
  read: LoadResult;
  /** The writes making the events (PATCH version metadata, sequential). */
  write: LatencySummary;
  /** Deliveries to the hanging receiver still waiting when the run ended. */
  pendingDeliveries?: number;
}

export interface WebhooksResult {
  runs: WebhooksRun[];
  rounds: number;
  /**
   * With the hanging receiver against without it (the answering one stays subscribed in both),
   * each the median over the rounds of that round's ratio.
   */
  readP50Ratio: number;
  readP99Ratio: number;
  writeP50Ratio: number;
  writeP99Ratio: number;
  /** Every round's read and write p99 ratio, in round order. */
  readP99Ratios: number[];
  writeP99Ratios: number[];
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/**
 * A webhook receiver on loopback: `hang` takes every request and never answers (until the
 * bench ends), otherwise each is answered 204 once its body is in.
 */
async function receiver(hang: boolean): Promise<{ url: string; close: () => Promise<void> }> {
  const held: ServerResponse[] = [];
  const server: Server = createServer((req, res) => {
    req.resume();
    if (hang) held.push(res);
    else req.on('end', () => res.writeHead(204).end());
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
 * 6. A slow receiver while the API is under load: the embedded service under the same load
 * (GET a version, 10 connections) and the same stream of writes that each record an event
 * (PATCH a version's metadata), with a webhook (`*`) whose receiver answers at once, and then
 * with a second one whose receiver never answers as well, so that its deliveries hold delivery
 * slots until their timeout (WEBHOOKS_TIMEOUT_MS, 10 s). The two alternate over the rounds
 * (order flipped every round; after a hanging run its webhook is paused and its attempts in
 * flight are let time out before the next run), and the figure is the median of the per-round
 * ratios: a busy moment on the machine weighs on both sides of one ratio. A run with no webhook
 * at all comes first, for reference (recording events has its own cost).
 */
export async function webhooksUnderLoad(ctx: Context): Promise<WebhooksResult> {
  const timeoutMs = 10_000;
  const svc = await startService('service-webhooks', {
    env: {
      WEBHOOKS_ALLOW_HTTP: 'true',
      WEBHOOKS_ALLOW_PRIVATE_NETWORKS: 'true',
      WEBHOOKS_POLL_INTERVAL_MS: '200',
      WEBHOOKS_TIMEOUT_MS: String(timeoutMs),
      LOG_LEVEL: 'warn',
    },
  });
  const hanging = await receiver(true);
  const answering = await receiver(false);
  try {
    const tenant = 'bench-webhooks';
    const editor = await token(tenant, ['editor']);
    const adminHeaders = { authorization: `Bearer ${await token(tenant, ['admin'])}` };
    const headers = { authorization: `Bearer ${editor}` };
    const file = randomFile(ctx, 'webhooks.pkl', 16 * 1024);
    const { manifest } = await uploadArtifact(svc.url, editor, file);
    await callOk('POST', `${svc.url}${BASE}/models`, {
      headers,
      body: { name: 'hooked', artifact_id: manifest.artifact_id },
    });
    const { warm, run } = durations(ctx);
    const rounds = ctx.smoke ? 1 : 5;
    const versionUrl = `${svc.url}${BASE}/models/hooked/versions/1`;

    const measure = async (label: string): Promise<Omit<WebhooksRun, 'receiver' | 'round'>> => {
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
    const subscribe = (url: string) =>
      callOk<{ id: string }>('POST', `${svc.url}${BASE}/webhooks`, {
        headers: adminHeaders,
        body: { url, events: ['*'] },
      });
    const setActive = (id: string, active: boolean) =>
      callOk('PATCH', `${svc.url}${BASE}/webhooks/${id}`, {
        headers: adminHeaders,
        body: { active },
      });

    const runs: WebhooksRun[] = [
      { receiver: 'no webhook', round: 0, ...(await measure('get version, no webhook')) },
    ];
    await subscribe(answering.url);
    const slow = await subscribe(hanging.url);
    await setActive(slow.id, false);
    const readRatios: { p50: number; p99: number }[] = [];
    const writeRatios: { p50: number; p99: number }[] = [];
    for (let r = 1; r <= rounds; r++) {
      const order = r % 2 === 1 ? ['answering', 'hanging'] : ['hanging', 'answering'];
      const pair: Record<string, Omit<WebhooksRun, 'receiver' | 'round'>> = {};
      for (const which of order) {
        if (which === 'hanging') {
          await setActive(slow.id, true);
          pair[which] = await measure(`get version, hanging receiver, round ${r}`);
          const log = await callOk<{ deliveries: { status: string }[] }>(
            'GET',
            `${svc.url}${BASE}/webhooks/${slow.id}/deliveries?max_results=1000`,
            { headers: adminHeaders },
          );
          pair[which].pendingDeliveries = log.deliveries.filter(
            (d) => d.status === 'pending',
          ).length;
          await setActive(slow.id, false);
          // Its attempts in flight hold their slots until they time out: not into the next run.
          await new Promise((resolve) => setTimeout(resolve, timeoutMs + 500));
        } else {
          pair[which] = await measure(`get version, answering receiver, round ${r}`);
        }
      }
      const h = pair['hanging'];
      const a = pair['answering'];
      const ratio = (x: number, y: number): number => (y > 0 ? x / y : NaN);
      readRatios.push({ p50: ratio(h.read.p50, a.read.p50), p99: ratio(h.read.p99, a.read.p99) });
      writeRatios.push({
        p50: ratio(h.write.p50, a.write.p50),
        p99: ratio(h.write.p99, a.write.p99),
      });
      runs.push({ receiver: 'answering receiver', round: r, ...a });
      runs.push({ receiver: 'answering + hanging receiver', round: r, ...h });
      ctx.log(
        `  round ${r}: read p99 ${a.read.p99} → ${h.read.p99} ms, write p99 ${a.write.p99} → ${h.write.p99} ms, ${h.pendingDeliveries} deliveries waiting`,
      );
    }
    const med = (values: number[]): number => round(median(values), 2);
    return {
      runs,
      rounds,
      readP50Ratio: med(readRatios.map((x) => x.p50)),
      readP99Ratio: med(readRatios.map((x) => x.p99)),
      writeP50Ratio: med(writeRatios.map((x) => x.p50)),
      writeP99Ratio: med(writeRatios.map((x) => x.p99)),
      readP99Ratios: readRatios.map((x) => round(x.p99, 2)),
      writeP99Ratios: writeRatios.map((x) => round(x.p99, 2)),
    };
  } finally {
    await hanging.close();
    await answering.close();
    await svc.stop();
  }
}
