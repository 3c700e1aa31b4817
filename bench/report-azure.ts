import type { TransferRun } from './sections/artifacts';
import { Goal, pct, table, transferCpuTable } from './lib/markdown';

/** Section 3's goals for the Azure rows: the S3 rows' ratio and RSS goals, against Azure's SDK. */
export function azureGoals(runs: TransferRun[] | undefined): Goal[] {
  const out: Goal[] = [];
  for (const a of runs ?? []) {
    if (a.ratio !== undefined) {
      out.push({
        goal: `3. Azure: ${a.direction} ${a.sizeMiB} MiB: ≥ 80% of direct Azure SDK throughput`,
        figure: `${pct(a.ratio)} (${a.serviceMiBs} vs ${a.directMiBs} MiB/s)`,
        met: a.ratio >= 0.8,
      });
    }
    out.push({
      goal: `3. Azure: ${a.direction} ${a.sizeMiB} MiB: RSS growth < 64 MiB`,
      figure: `${a.rssGrowthMiB} MiB`,
      met: a.rssGrowthMiB < 64,
    });
  }
  return out;
}

/** Section 3's Azure part: the same transfers with the artifacts in Azurite. */
export function azurePart(runs: TransferRun[]): string {
  const withCpu = runs.filter((a) => a.cpu);
  return `## 3. Artifact transfers (Azure Blob Storage: the stack's Azurite)

The same transfers as above with the service's artifacts in Azurite
(\`MLFLOW_ARTIFACT_ROOT=wasbs://<container>@<account>.blob.core.windows.net/bench-<run>\`,
\`AZURE_STORAGE_CONNECTION_STRING\` of Azurite's account). Direct: \`@azure/storage-blob\`
\`BlockBlobClient.uploadStream\` (the SDK's defaults: 8 MiB buffers, 5 in flight) and \`download()\` of
the same file to the same container, just before. Azurite is Microsoft's emulator (one Node.js process
keeping blobs on local disk), not Azure: the ratio says what the service adds over the SDK, not what
Azure itself would do. No service-only 4× file here (memory independence is shown on S3 above).

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
  runs.map((a) => [
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
  withCpu.length > 0
    ? `
CPU seconds per GiB moved, by process, as for S3 ("Azurite" is its one process; "client" the bench
process: the Azure SDK direct, a node:http client through the service).

${transferCpuTable(withCpu, 'Azurite')}
`
    : ''
}`;
}
