import { Client } from 'minio';
import { rmSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Context, MiB, randomFile } from '../lib/context';
import { realBackendEnv, StackEnv } from '../lib/env';
import { round } from '../lib/http';
import { BASE, startService, token } from '../lib/service';
import { download, RssSampler, uploadArtifact } from '../lib/upload';

export interface TransferRun {
  sizeMiB: number;
  direction: 'upload' | 'download';
  serviceMiBs: number;
  directMiBs: number;
  ratio: number;
  rssBaselineMiB: number;
  rssPeakMiB: number;
  rssGrowthMiB: number;
  /** CPU seconds the service used for the transfer, per GiB moved. */
  serviceCpuSecondsPerGiB: number;
}

export function minioClient(stack: StackEnv): Client {
  const url = new URL(stack.s3Endpoint);
  return new Client({
    endPoint: url.hostname,
    port: Number(url.port),
    useSSL: url.protocol === 'https:',
    accessKey: stack.s3AccessKey,
    secretKey: stack.s3SecretKey,
    region: 'us-east-1',
  });
}

const mibs = (bytes: number, ms: number): number => round(bytes / MiB / (ms / 1000), 1);
const toMiB = (bytes: number): number => round(bytes / MiB, 1);

/**
 * 3. Artifact upload and download through the service (S3 backend) against the minio client
 * writing and reading the same file straight to the same S3 server, with the service's RSS
 * sampled every 25 ms (growth over its RSS just before the transfer).
 */
export async function artifactTransfers(ctx: Context, sizesMiB: number[]): Promise<TransferRun[]> {
  const stack = ctx.stack!;
  const s3 = minioClient(stack);
  const tenant = `art-${ctx.runId}`;
  const editor = await token(tenant, ['editor']);
  const svc = await startService('service-artifacts', { env: realBackendEnv(stack, ctx.runId) });
  const runs: TransferRun[] = [];
  try {
    // A first small upload and download, so first-use costs are not in the measured ones.
    const warm = randomFile(ctx, 'warm.bin', 9 * MiB);
    const w = await uploadArtifact(svc.url, editor, warm);
    await download(`${svc.url}${BASE}/artifacts/${w.manifest.artifact_id}/files/model.pkl`, {
      authorization: `Bearer ${editor}`,
    });
    rmSync(warm);
    for (const sizeMiB of sizesMiB) {
      const bytes = sizeMiB * MiB;
      const file = randomFile(ctx, `artifact-${sizeMiB}.bin`, bytes);
      const key = `bench-${ctx.runId}/direct/${sizeMiB}.bin`;

      let started = performance.now();
      await s3.fPutObject(stack.s3Bucket, key, file);
      const directUp = performance.now() - started;

      let sampler = new RssSampler(() => svc.rss());
      let baseline = svc.rss();
      let cpu = svc.cpuSeconds();
      sampler.start();
      const up = await uploadArtifact(svc.url, editor, file);
      let peak = sampler.stop();
      const upCpu = svc.cpuSeconds() - cpu;
      runs.push({
        sizeMiB,
        direction: 'upload',
        serviceMiBs: mibs(bytes, up.ms),
        directMiBs: mibs(bytes, directUp),
        ratio: round(directUp / up.ms),
        rssBaselineMiB: toMiB(baseline),
        rssPeakMiB: toMiB(peak),
        rssGrowthMiB: toMiB(peak - baseline),
        serviceCpuSecondsPerGiB: round(upCpu / (bytes / 1024 / MiB)),
      });
      ctx.log(`  upload ${sizeMiB} MiB: ${JSON.stringify(runs[runs.length - 1])}`);

      started = performance.now();
      let seen = 0;
      await pipeline(
        await s3.getObject(stack.s3Bucket, key),
        new Writable({
          write(chunk: Buffer, _e, cb) {
            seen += chunk.length;
            cb();
          },
        }),
      );
      const directDown = performance.now() - started;
      if (seen !== bytes) throw new Error(`direct download got ${seen} of ${bytes} bytes`);

      sampler = new RssSampler(() => svc.rss());
      baseline = svc.rss();
      cpu = svc.cpuSeconds();
      sampler.start();
      const down = await download(
        `${svc.url}${BASE}/artifacts/${up.manifest.artifact_id}/files/model.pkl`,
        { authorization: `Bearer ${editor}` },
      );
      peak = sampler.stop();
      const downCpu = svc.cpuSeconds() - cpu;
      if (down.bytes !== bytes)
        throw new Error(`service download got ${down.bytes} of ${bytes} bytes`);
      runs.push({
        sizeMiB,
        direction: 'download',
        serviceMiBs: mibs(bytes, down.ms),
        directMiBs: mibs(bytes, directDown),
        ratio: round(directDown / down.ms),
        rssBaselineMiB: toMiB(baseline),
        rssPeakMiB: toMiB(peak),
        rssGrowthMiB: toMiB(peak - baseline),
        serviceCpuSecondsPerGiB: round(downCpu / (bytes / 1024 / MiB)),
      });
      ctx.log(`  download ${sizeMiB} MiB: ${JSON.stringify(runs[runs.length - 1])}`);
      await s3.removeObject(stack.s3Bucket, key);
      rmSync(file);
    }
  } finally {
    await svc.stop();
  }
  return runs;
}
