import { rmSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Context, MiB, randomFile } from '../lib/context';
import { round } from '../lib/http';
import { BASE, startService, token } from '../lib/service';
import { DirectStore, s3Store } from '../lib/stores';
import { download, RssSampler, uploadArtifact } from '../lib/upload';

export { minioClient } from '../lib/stores';

export interface TransferRun {
  sizeMiB: number;
  direction: 'upload' | 'download';
  serviceMiBs: number;
  /** Absent for the memory-only transfer (no direct one to compare with). */
  directMiBs?: number;
  ratio?: number;
  rssBaselineMiB: number;
  rssPeakMiB: number;
  rssGrowthMiB: number;
  /** CPU seconds the service used for the transfer, per GiB moved. */
  serviceCpuSecondsPerGiB: number;
  /**
   * CPU seconds per GiB of every process on each path: the store's server (`s3`: SeaweedFS in
   * the S3 rows, Azurite in the Azure ones) and the bench's own client (the store's SDK direct;
   * the HTTP client through the service). With fewer idle cores than
   * processes, the paths' throughput is bound by their total CPU: `cpuBoundRatio` is the direct
   * path's total over the service path's, the ratio this machine allows at best.
   */
  cpu?: {
    direct: { s3: number; client: number };
    service: { s3: number; service: number; client: number };
    cpuBoundRatio: number;
  };
}

/** CPU seconds the bench process itself has used (its HTTP or minio client, the RSS sampler). */
const selfCpu = (): number => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
};

/** Runs `work`, returning the CPU seconds each probe counted meanwhile. */
async function metered<T, K extends string>(
  probes: Record<K, () => number>,
  work: () => Promise<T>,
): Promise<{ result: T; cpu: Record<K, number> }> {
  const keys = Object.keys(probes) as K[];
  const before = keys.map((k) => probes[k]());
  const result = await work();
  const cpu = {} as Record<K, number>;
  keys.forEach((k, i) => (cpu[k] = probes[k]() - before[i]));
  return { result, cpu };
}

const mibs = (bytes: number, ms: number): number => round(bytes / MiB / (ms / 1000), 1);
const toMiB = (bytes: number): number => round(bytes / MiB, 1);

/**
 * 3. Artifact upload and download through the service (S3 backend, or `store`'s) against the
 * store's own client writing and reading the same file straight to the same server (the minio
 * client for S3, @azure/storage-blob for Azure), with the service's RSS sampled every 25 ms
 * (growth over its RSS just before the transfer).
 */
export async function artifactTransfers(
  ctx: Context,
  sizesMiB: number[],
  /** A larger file moved through the service only, for its RSS growth (memory independent of size). */
  memoryOnlyMiB?: number,
  store: DirectStore = s3Store(ctx.stack!, ctx.runId),
): Promise<TransferRun[]> {
  const tenant = `art-${ctx.runId}`;
  const editor = await token(tenant, ['editor']);
  const svc = await startService(`service-artifacts-${store.name}`, { env: store.serviceEnv });
  const runs: TransferRun[] = [];
  try {
    // A first small upload and download, so first-use costs are not in the measured ones.
    const warm = randomFile(ctx, 'warm.bin', 9 * MiB);
    const w = await uploadArtifact(svc.url, editor, warm);
    await download(`${svc.url}${BASE}/artifacts/${w.manifest.artifact_id}/files/model.pkl`, {
      authorization: `Bearer ${editor}`,
    });
    rmSync(warm);
    await store.prepare();
    const s3Cpu = store.serverCpu;
    const svcCpu = (): number => svc.cpuSeconds();
    const perGiB = (seconds: number, bytes: number): number =>
      round(seconds / (bytes / 1024 / MiB));
    const cpuOf = (
      bytes: number,
      direct: { s3: number; client: number },
      service: { s3: number; service: number; client: number },
    ): TransferRun['cpu'] => {
      const d = { s3: perGiB(direct.s3, bytes), client: perGiB(direct.client, bytes) };
      const v = {
        s3: perGiB(service.s3, bytes),
        service: perGiB(service.service, bytes),
        client: perGiB(service.client, bytes),
      };
      const ratio = (direct.s3 + direct.client) / (service.s3 + service.service + service.client);
      return Number.isFinite(ratio)
        ? { direct: d, service: v, cpuBoundRatio: round(ratio) }
        : undefined;
    };
    for (const sizeMiB of sizesMiB) {
      const bytes = sizeMiB * MiB;
      const file = randomFile(ctx, `artifact-${sizeMiB}.bin`, bytes);
      const key = `bench-${ctx.runId}/direct/${sizeMiB}.bin`;

      const directUp = await metered({ s3: s3Cpu, client: selfCpu }, async () => {
        const started = performance.now();
        await store.put(key, file);
        return performance.now() - started;
      });

      let sampler = new RssSampler(() => svc.rss());
      let baseline = svc.rss();
      sampler.start();
      const up = await metered({ s3: s3Cpu, service: svcCpu, client: selfCpu }, () =>
        uploadArtifact(svc.url, editor, file),
      );
      let peak = sampler.stop();
      runs.push({
        sizeMiB,
        direction: 'upload',
        serviceMiBs: mibs(bytes, up.result.ms),
        directMiBs: mibs(bytes, directUp.result),
        ratio: round(directUp.result / up.result.ms),
        rssBaselineMiB: toMiB(baseline),
        rssPeakMiB: toMiB(peak),
        rssGrowthMiB: toMiB(peak - baseline),
        serviceCpuSecondsPerGiB: perGiB(up.cpu.service, bytes),
        cpu: cpuOf(bytes, directUp.cpu, up.cpu),
      });
      ctx.log(`  ${store.name} upload ${sizeMiB} MiB: ${JSON.stringify(runs[runs.length - 1])}`);

      const directDown = await metered({ s3: s3Cpu, client: selfCpu }, async () => {
        const started = performance.now();
        let seen = 0;
        await pipeline(
          await store.get(key),
          new Writable({
            write(chunk: Buffer, _e, cb) {
              seen += chunk.length;
              cb();
            },
          }),
        );
        if (seen !== bytes) throw new Error(`direct download got ${seen} of ${bytes} bytes`);
        return performance.now() - started;
      });

      sampler = new RssSampler(() => svc.rss());
      baseline = svc.rss();
      sampler.start();
      const down = await metered({ s3: s3Cpu, service: svcCpu, client: selfCpu }, () =>
        download(`${svc.url}${BASE}/artifacts/${up.result.manifest.artifact_id}/files/model.pkl`, {
          authorization: `Bearer ${editor}`,
        }),
      );
      peak = sampler.stop();
      if (down.result.bytes !== bytes)
        throw new Error(`service download got ${down.result.bytes} of ${bytes} bytes`);
      runs.push({
        sizeMiB,
        direction: 'download',
        serviceMiBs: mibs(bytes, down.result.ms),
        directMiBs: mibs(bytes, directDown.result),
        ratio: round(directDown.result / down.result.ms),
        rssBaselineMiB: toMiB(baseline),
        rssPeakMiB: toMiB(peak),
        rssGrowthMiB: toMiB(peak - baseline),
        serviceCpuSecondsPerGiB: perGiB(down.cpu.service, bytes),
        cpu: cpuOf(bytes, directDown.cpu, down.cpu),
      });
      ctx.log(`  ${store.name} download ${sizeMiB} MiB: ${JSON.stringify(runs[runs.length - 1])}`);
      await store.remove(key);
      rmSync(file);
    }
    if (memoryOnlyMiB !== undefined) {
      // Through the service only (the throughput goal is judged on the sizes above): the RSS
      // growth of an upload and a download of a file 4x the largest one.
      const bytes = memoryOnlyMiB * MiB;
      const file = randomFile(ctx, `artifact-${memoryOnlyMiB}.bin`, bytes);
      const memoryRun = async <T>(
        direction: TransferRun['direction'],
        work: () => Promise<T & { ms: number }>,
      ): Promise<T> => {
        const sampler = new RssSampler(() => svc.rss());
        const baseline = svc.rss();
        sampler.start();
        const { result, cpu } = await metered({ service: svcCpu }, work);
        const peak = sampler.stop();
        runs.push({
          sizeMiB: memoryOnlyMiB,
          direction,
          serviceMiBs: mibs(bytes, result.ms),
          rssBaselineMiB: toMiB(baseline),
          rssPeakMiB: toMiB(peak),
          rssGrowthMiB: toMiB(peak - baseline),
          serviceCpuSecondsPerGiB: perGiB(cpu.service, bytes),
        });
        ctx.log(
          `  ${direction} ${memoryOnlyMiB} MiB (service only): ${JSON.stringify(runs.at(-1))}`,
        );
        return result;
      };
      const up = await memoryRun('upload', () => uploadArtifact(svc.url, editor, file));
      const down = await memoryRun('download', () =>
        download(`${svc.url}${BASE}/artifacts/${up.manifest.artifact_id}/files/model.pkl`, {
          authorization: `Bearer ${editor}`,
        }),
      );
      if (down.bytes !== bytes)
        throw new Error(`service download got ${down.bytes} of ${bytes} bytes`);
      rmSync(file);
    }
  } finally {
    await svc.stop();
    await store
      .cleanUp()
      .catch((err: unknown) => ctx.log(`  ${store.name} clean-up failed: ${String(err)}`));
  }
  return runs;
}
