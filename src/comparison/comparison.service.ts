import { Injectable } from '@nestjs/common';
import { VersionsService } from '../versions/versions.service';
import type { ComparisonDto } from './dto/compare.dto';
import { recommend } from './recommendation';

@Injectable()
export class ComparisonService {
  constructor(private readonly versions: VersionsService) {}

  async compare(
    tenant: string,
    name: string,
    numbers: number[],
    primaryMetric?: string,
  ): Promise<ComparisonDto> {
    const versions = await Promise.all(numbers.map((n) => this.versions.get(tenant, name, n)));
    const verdict = recommend(
      versions.map((v) => ({ version: v.version, metrics: v.metrics })),
      { primaryMetric },
    );
    const names = verdict.metrics.map((m) => m.name);
    return {
      comparison: versions.map((v) => ({
        version: v.version,
        metrics: Object.fromEntries(names.map((n) => [n, v.metrics[n] ?? null])),
        stage: v.stage,
      })),
      recommendation: verdict.recommendation,
      recommended_version: verdict.recommended_version,
      metrics: verdict.metrics,
    };
  }
}
