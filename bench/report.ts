import type { TransferRun } from './sections/artifacts';
import type { ColdOp } from './sections/cold';
import type { HotResult } from './sections/hot';
import type { IdentityResult } from './sections/identity';
import type { ScaleResult } from './sections/scale';
import type { ScaleMlflowResult } from './sections/scale-mlflow';
import { auditReport, type AuditResult } from './sections/audit';
import type { Machine } from './lib/machine';
import type { WebhooksResult } from './sections/webhooks';
import type { PromotionRun } from './sections/governance';
import { azureGoals, azurePart } from './report-azure';
import { promotionGoals, promotionPart } from './report-promotion';
import { type Goal, pct, table, transferCpuTable } from './lib/markdown';

export interface Results {
  mode: 'full' | 'smoke';
  runId: string;
  startedAt: string;
  machine: Machine;
  command: string;
  durationS?: number;
  /** Sections that failed, with their error. */
  failures?: Record<string, string>;
  hotModels?: string[];
  identity?: IdentityResult;
  hot?: HotResult;
  cold?: ColdOp[];
  artifacts?: TransferRun[];
  /** Section 3 again with the artifacts in Azurite (when the stack has it). */
  artifactsAzure?: TransferRun[];
  promotion?: PromotionRun[];
  scale?: (ScaleResult | ScaleMlflowResult)[];
  webhooks?: WebhooksResult;
  audit?: AuditResult[];
}

const verdict = (ok: boolean): string => (ok ? '**met**' : '**missed**');
/** Goals, each with the figure it is judged on. */
export function goals(r: Results): Goal[] {
  const out: Goal[] = [];
  if (r.hot) {
    for (const what of ['get version', 'list models']) {
      const vsMlflow = r.hot.ratios[`${what}: service / MLflow`];
      const paired = r.hot.paired?.find((p) => p.what === what);
      const vsBare = paired?.medianRatio ?? r.hot.ratios[`${what}: service / bare Express`];
      out.push({
        goal: `1. hot ${what}: ≥ 10× MLflow req/s`,
        figure: `${vsMlflow}×`,
        met: vsMlflow >= 10,
      });
      out.push({
        goal: `1. hot ${what}: ≥ 70% of bare NestJS+Express req/s`,
        figure: paired
          ? `${pct(vsBare)} (median of ${paired.pairs.length} alternating pairs; ` +
            `${pct(Math.min(...paired.pairs.map((p) => p.ratio)))}-` +
            `${pct(Math.max(...paired.pairs.map((p) => p.ratio)))})`
          : pct(vsBare),
        met: vsBare >= 0.7,
      });
    }
  }
  for (const c of r.cold ?? []) {
    out.push({
      goal: `2. ${c.op}: < 20% added at p50 over its MLflow calls`,
      figure: `${pct(c.addedAtP50)} (${c.service.p50} vs ${c.mlflowDirect.p50} ms)`,
      met: c.addedAtP50 < 0.2,
    });
  }
  if (r.artifacts && r.artifacts.length > 0) {
    for (const a of r.artifacts) {
      if (a.ratio !== undefined) {
        out.push({
          goal: `3. ${a.direction} ${a.sizeMiB} MiB: ≥ 80% of direct S3 throughput`,
          figure: `${pct(a.ratio)} (${a.serviceMiBs} vs ${a.directMiBs} MiB/s)`,
          met: a.ratio >= 0.8,
        });
      }
      out.push({
        goal: `3. ${a.direction} ${a.sizeMiB} MiB: RSS growth < 64 MiB`,
        figure: `${a.rssGrowthMiB} MiB`,
        met: a.rssGrowthMiB < 64,
      });
    }
    for (const dir of ['upload', 'download'] as const) {
      const runs = r.artifacts
        .filter((a) => a.direction === dir)
        .sort((a, b) => a.sizeMiB - b.sizeMiB);
      if (runs.length < 2) continue;
      // Independent of size: the peak RSS while moving the largest file is no higher (within
      // 16 MiB) than while moving the smallest. Peaks, not growths: a growth is measured from the
      // RSS just before a transfer, which swings by tens of MiB with where GC happens to be.
      const [small, large] = [runs[0], runs[runs.length - 1]];
      const delta = large.rssPeakMiB - small.rssPeakMiB;
      out.push({
        goal:
          `3. ${dir}: memory independent of size (peak RSS while moving ${large.sizeMiB} MiB ` +
          `within 16 MiB of the peak while moving ${small.sizeMiB} MiB)`,
        figure: `peaks ${runs.map((x) => `${x.rssPeakMiB}`).join(' → ')} MiB (${runs
          .map((x) => x.sizeMiB)
          .join(' → ')} MiB files)`,
        met: delta < 16,
      });
    }
  }
  out.push(...azureGoals(r.artifactsAzure), ...promotionGoals(r.promotion));
  for (const s of r.scale ?? []) {
    if (s.backend.startsWith('embedded')) {
      const p99 = Math.max(s.listWalk.p99, s.listFirstPageLoad.p99);
      out.push({
        goal: `4. ${s.backend}, cache off: list page p99 < 50 ms (${s.models} models)`,
        figure: `walk ${s.listWalk.p99} ms, 10 connections ${s.listFirstPageLoad.p99} ms`,
        met: p99 < 50,
      });
      if (s.cached) {
        const c = Math.max(s.cached.listWalk.p99, s.cached.listFirstPageLoad.p99);
        out.push({
          goal: `4. ${s.backend}, default config (cache on): list page p99 < 50 ms`,
          figure: `walk (misses) ${s.cached.listWalk.p99} ms, 10 connections ${s.cached.listFirstPageLoad.p99} ms`,
          met: c < 50,
        });
      }
    }
    const empty = s.register.find((x) => x.store === 'empty');
    for (const x of s.register.filter((y) => y.store !== 'empty')) {
      const growth = empty ? x.all.p50 / empty.all.p50 : 1;
      const drift = x.lastThirdP50 / x.firstThirdP50;
      out.push({
        goal: `4. ${s.backend}: register cost flat (into ${x.model}; vs empty store and along the series, within 25%)`,
        figure: `p50 ${x.all.p50} ms vs empty ${empty?.all.p50 ?? '?'} ms (${pct(growth)}); last/first third ${pct(drift)}`,
        met: growth <= 1.25 && drift <= 1.25,
      });
    }
  }
  if (r.webhooks) {
    const w = r.webhooks;
    out.push({
      goal: '6. a slow receiver while the API is under load keeps API latency unchanged (p99 within 25%)',
      figure: `with / without the hanging receiver, median of ${w.rounds ?? 1} alternating rounds: reads p50 ×${w.readP50Ratio}, p99 ×${w.readP99Ratio}; writes p50 ×${w.writeP50Ratio}, p99 ×${w.writeP99Ratio}`,
      met: w.readP99Ratio <= 1.25 && w.writeP99Ratio <= 1.25,
    });
  }
  return out;
}

export function report(r: Results, analysis: string): string {
  const m = r.machine;
  const parts: string[] = [];
  parts.push(`# Benchmarks

Generated by \`${r.command}\` (run ${r.runId}, ${r.startedAt}, ${r.durationS ?? '?'} s). Raw results:
\`bench-results/${r.startedAt.replace(/[:.]/g, '-')}-${r.mode}.json\` (git-ignored; re-run to reproduce).

**Machine**: ${m.cpu}, ${m.cores} cores, ${m.ramGiB} GiB RAM, Node ${m.node}, ${m.os}; load average at start
${m.loadavgAtStart.join(' / ')}. The machine is shared with other workers and noisy: absolute figures move from
run to run, which is why every goal is judged on a **ratio of figures measured side by side in the same run**
(service vs MLflow vs bare app one after the other, cold requests alternating with their MLflow replay,
service transfer right after the direct one). The load generator (autocannon, 10 connections) runs on the same
machine and competes for the same cores; everything talks over 127.0.0.1.
`);
  if (r.failures) {
    parts.push(
      `## Failed sections\n\n${Object.entries(r.failures)
        .map(([k, v]) => `- ${k}: ${v}`)
        .join('\n')}\n`,
    );
  }
  parts.push(
    `## Goals\n\n${table(
      ['goal', 'figure', 'verdict'],
      goals(r).map((g) => [g.goal, g.figure, verdict(g.met)]),
    )}\n`,
  );
  if (r.hot) {
    parts.push(`## 1. Hot reads (cached)

Service: \`node dist/main.js\` on MLflow + S3, in-memory cache (default TTL 300 s), LOG_LEVEL=info (default; logs to
/dev/null) and, as a diagnostic, LOG_LEVEL=warn. ${r.hot.models} models in the tenant; the list asks for 100 per
page. MLflow: the stack's server (1 uvicorn worker, PostgreSQL), asked \`model-versions/get\` and
\`registered-models/search\` with the same tenant filter the service uses. Bare: a NestJS app with the same two
routes answering the service's own JSON (\`bench/bare-app.ts\`), on Express and on Fastify, plus the Express one
behind a guard running the service's JwtVerifier. Each target: one warm-up, then ${r.hot.rounds} round(s) of
${r.mode === 'smoke' ? '1' : '3'} s at 10 connections, every target once per round (so that background load weighs
on all alike); the row is the median round by req/s. "CPU ms/req" is the server's own CPU time (user + system, from
/proc) over the requests it answered: unlike req/s it hardly depends on what else the machine runs. For MLflow it
counts the uvicorn process group only, not PostgreSQL.

${table(
  ['target', 'req/s (median)', 'p50 ms', 'p90 ms', 'p99 ms', 'CPU ms/req', 'req/s per round'],
  r.hot.runs.map((x) => [
    x.label,
    x.rps,
    x.p50,
    x.p90,
    x.p99,
    x.cpuMsPerRequest ?? '',
    x.roundsRps.join(', '),
  ]),
)}

${table(
  ['ratio (req/s)', 'value'],
  Object.entries(r.hot.ratios).map(([k, v]) => [k, v]),
)}
${(r.hot.paired ?? [])
  .map(
    (p) => `
**${p.what}: service against bare NestJS+Express in alternating pairs** (what the 70% goal is judged
on): ${p.pairs.length} pairs of ${p.durationS}-second loads at 10 connections, the service first in odd pairs and
second in even ones; each ratio compares two loads a few seconds apart, so load from elsewhere on the
machine weighs on both sides of it. Median ratio **${pct(p.medianRatio)}**.

${table(
  ['pair', 'service req/s', 'bare req/s', 'ratio', 'service CPU ms/req', 'bare CPU ms/req'],
  p.pairs.map((x, i) => [
    i + 1,
    x.service,
    x.bare,
    pct(x.ratio),
    x.serviceCpuMs ?? '',
    x.bareCpuMs ?? '',
  ]),
)}
`,
  )
  .join('')}`);
  }
  if (r.identity) {
    const i = r.identity;
    const remembered =
      i.perRememberedMicros === undefined
        ? ''
        : `; **${i.perRememberedMicros} µs** for a token verified before (remembered up to 60 s, never past its \`exp\`)`;
    parts.push(`## 5. Cost of identity

\`JwtVerifier.verify\` (HS256, the service's own class, in process, sequential, ${i.verifications} distinct tokens):
**${i.perVerifyMicros} µs** per token seen for the first time (${i.verifiesPerSecond} verifications/s on one core)${remembered}; with the tenant and role check on a remembered token's principal: ${i.perVerifyAndScopeMicros} µs. Diagnostic, jose's \`jwtVerify\` alone:
${i.joseUint8ArrayMicros} µs with the secret as a Uint8Array (jose imports it again at every call),
${i.joseKeyObjectMicros} µs with a KeyObject made once (what JwtVerifier holds). Over HTTP, see the row "bare NestJS+Express + JWT guard"
above: the same route with and without the guard (ratio in the table of section 1).
`);
  }
  if (r.cold) {
    parts.push(`## 2. Cold reads and writes (MLflow + S3, cache off)

ML_REGISTRY_CACHE_TTL=0. A first service behind a recording proxy tells which MLflow calls each request makes;
then a service talking straight to MLflow is timed request by request, each followed by the replay of the same
MLflow calls straight at MLflow from the bench (same HTTP client, keep-alive). Writes are replayed against
another model so that the service's numbering is undisturbed. Register is timed on \`POST /models\` alone (the
upload before it is not timed); its S3 copy of the files (placement) and the service database writes count as
"added", since they are not MLflow calls.

${table(
  [
    'operation',
    'MLflow calls made',
    'service p50 / p99 ms',
    'MLflow calls p50 / p99 ms',
    'added at p50',
  ],
  r.cold.map((c) => [
    c.op,
    c.mlflowCalls.join('<br>'),
    `${c.service.p50} / ${c.service.p99}`,
    `${c.mlflowDirect.p50} / ${c.mlflowDirect.p99}`,
    pct(c.addedAtP50),
  ]),
)}
${r.cold
  .filter((c) => c.timeline)
  .map((c) => {
    const t = c.timeline!;
    return `
**Where a ${c.op} spends its time.** ${t.n} registrations through a service whose MLflow and S3
endpoints are recording proxies in the bench process (each call's start and end on the bench's
clock; the proxy hop adds a fraction of a millisecond per call, so the whole is slower than the
timed run above). For each request the three parts add up to the whole; each figure is a median.

${table(
  ['part of the request', 'p50 ms'],
  [
    ['whole request (through the proxies)', t.totalP50],
    ['MLflow calls (wall time while at least one runs)', t.mlflowWallP50],
    ['S3 calls outside any MLflow call', t.s3OutsideMlflowP50],
    ["the service's own (database, CPU, request in and out)", t.ownP50],
    ['of the whole: from the request to its first backend call', t.leadP50],
    ['of the whole: from the last MLflow call to the answer (S3 included)', t.tailP50],
  ],
)}

${table(
  ['call', 'per request', 'inside the service p50 ms', 'replayed alone p50 ms'],
  t.calls.map((x) => [x.call, x.perRequest, x.insideP50, x.aloneP50 ?? '']),
)}
`;
  })
  .join('')}`);
  }
  if (r.artifacts) {
    parts.push(`## 3. Artifact transfers (S3: the stack's SeaweedFS)

Service: \`POST /artifacts\` (multipart, part \`model\`) and \`GET /artifacts/:id/files/model.pkl\`, from a file of
random bytes. Direct: the \`minio\` client \`fPutObject\` / \`getObject\` of the same file to the same bucket, just
before. RSS: VmRSS of the service process sampled every 25 ms, growth over its value just before the transfer.
A last file, 4× the largest, goes through the service only (upload, then download): its rows are there for the
RSS growth, to show that memory does not follow the file's size.

${table(
  [
    'direction',
    'size MiB',
    'service MiB/s',
    'direct MiB/s',
    'ratio',
    'RSS before MiB',
    'RSS peak MiB',
    'growth MiB',
    'service CPU s/GiB',
  ],
  r.artifacts.map((a) => [
    a.direction,
    a.sizeMiB,
    a.serviceMiBs,
    a.directMiBs ?? '(service only)',
    a.ratio === undefined ? '' : pct(a.ratio),
    a.rssBaselineMiB,
    a.rssPeakMiB,
    a.rssGrowthMiB,
    a.serviceCpuSecondsPerGiB,
  ]),
)}
${
  r.artifacts.some((a) => a.cpu)
    ? `
CPU seconds per GiB moved, by process (from /proc; "client" is the bench process: the minio client
on the direct path, a node:http client through the service). On this machine every path has more
busy processes than the 2 cores, so its throughput is bound by the **total** CPU it needs: "CPU-bound
ratio" (direct total / service path total) is the ratio the machine allows at best, measured in the
same run as the ratio above.

${transferCpuTable(r.artifacts, 'S3 server')}
`
    : ''
}`);
  }
  if (r.artifactsAzure) parts.push(azurePart(r.artifactsAzure));
  if (r.promotion) parts.push(promotionPart(r.promotion));
  for (const s of r.scale ?? []) {
    const direct = (s as ScaleMlflowResult).mlflowDirect;
    parts.push(`## 4. Scale: ${s.backend}

One tenant, ${s.models} models, ${s.versions} versions (seeded in bulk straight into the store in ${s.seedSeconds} s;
see \`bench/sections/scale*.ts\`), read through the service with the cache off (ML_REGISTRY_CACHE_TTL=0).

${table(
  ['measure', 'n', 'p50 ms', 'p90 ms', 'p99 ms', 'req/s'],
  [
    [
      `list: walk ${s.listWalk.pages} pages (100 per page) in order, sequential`,
      s.listWalk.pages,
      s.listWalk.p50,
      s.listWalk.p90,
      s.listWalk.p99,
      '',
    ],
    [
      'list: one page mid-listing, 10 connections',
      s.listFirstPageLoad.requests,
      s.listFirstPageLoad.p50,
      s.listFirstPageLoad.p90,
      s.listFirstPageLoad.p99,
      s.listFirstPageLoad.rps,
    ],
    [
      'get version: random model and version, sequential',
      s.getVersionSequential.n,
      s.getVersionSequential.p50,
      s.getVersionSequential.p90,
      s.getVersionSequential.p99,
      '',
    ],
    [
      'get version: one version, 10 connections',
      s.getVersionLoad.requests,
      s.getVersionLoad.p50,
      s.getVersionLoad.p90,
      s.getVersionLoad.p99,
      s.getVersionLoad.rps,
    ],
    ...(s.cached
      ? [
          [
            `cache on: list walk (every page once: misses)`,
            s.cached.listWalk.pages,
            s.cached.listWalk.p50,
            s.cached.listWalk.p90,
            s.cached.listWalk.p99,
            '',
          ],
          [
            'cache on: one page mid-listing, 10 connections',
            s.cached.listFirstPageLoad.requests,
            s.cached.listFirstPageLoad.p50,
            s.cached.listFirstPageLoad.p90,
            s.cached.listFirstPageLoad.p99,
            s.cached.listFirstPageLoad.rps,
          ],
          [
            'cache on: get version random, sequential',
            s.cached.getVersionSequential.n,
            s.cached.getVersionSequential.p50,
            s.cached.getVersionSequential.p90,
            s.cached.getVersionSequential.p99,
            '',
          ],
          [
            'cache on: get version, 10 connections',
            s.cached.getVersionLoad.requests,
            s.cached.getVersionLoad.p50,
            s.cached.getVersionLoad.p90,
            s.cached.getVersionLoad.p99,
            s.cached.getVersionLoad.rps,
          ],
        ]
      : []),
    ...(direct
      ? [
          [
            'MLflow direct: search walk',
            direct.searchWalk.pages,
            direct.searchWalk.p50,
            direct.searchWalk.p90,
            direct.searchWalk.p99,
            '',
          ],
          [
            'MLflow direct: model-versions/get, random',
            direct.getVersion.n,
            direct.getVersion.p50,
            direct.getVersion.p90,
            direct.getVersion.p99,
            '',
          ],
        ]
      : []),
  ],
)}

Registration (\`POST /models\`, upload untimed), per version:

${table(
  ['store', 'model', 'n', 'p50 ms', 'p99 ms', 'first third p50', 'last third p50'],
  s.register.map((x) => [
    x.store,
    x.model,
    x.all.n,
    x.all.p50,
    x.all.p99,
    x.firstThirdP50,
    x.lastThirdP50,
  ]),
)}
`);
  }
  if (r.webhooks) {
    const w = r.webhooks;
    parts.push(`## 6. A hanging webhook receiver while the API is under load

The embedded service; GET a version under load (10 connections) while a writer PATCHes the
version's metadata (each write records a \`model_version.updated\` event). A webhook (\`*\`) whose
receiver answers at once is subscribed throughout; in the "hanging" runs a second webhook
(\`*\`) is on whose receiver never answers, so its deliveries hold delivery slots until the 10 s
timeout. The two alternate over ${w.rounds ?? 1} round(s), order flipped every round (a hanging
run's attempts are let time out before the next run); the figure is the median of the per-round
ratios (\`bench/sections/webhooks.ts\`). The first row, no webhook at all, is for reference: it
records no events.

${table(
  [
    'round',
    'receivers',
    'reads',
    'read p50 ms',
    'read p99 ms',
    'req/s',
    'writes',
    'write p50 ms',
    'write p99 ms',
    'deliveries to the hanging receiver waiting',
  ],
  w.runs.map((x) => [
    x.round ?? '',
    x.receiver,
    x.read.requests,
    x.read.p50,
    x.read.p99,
    x.read.rps,
    x.write.n,
    x.write.p50,
    x.write.p99,
    x.pendingDeliveries ?? '',
  ]),
)}

With / without the hanging receiver (median of the rounds): reads p50 ×${w.readP50Ratio}, p99 ×${w.readP99Ratio}; writes p50 ×${w.writeP50Ratio}, p99 ×${w.writeP99Ratio}.${
      w.readP99Ratios
        ? ` Per round, read p99 ×${w.readP99Ratios.join(', ×')}; write p99 ×${(w.writeP99Ratios ?? []).join(', ×')}.`
        : ''
    }
`);
  }
  if (r.audit) parts.push(auditReport(r.audit));
  parts.push(analysis);
  return parts.join('\n');
}
