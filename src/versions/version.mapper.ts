import type { ModelVersionRecord, RunRecord } from '../mlflow/registry-types';
import type { VersionDto } from './dto/version.dto';
import { iso } from '../common/time';
import { SERVICE_TAGS } from '../domain/service-tags';

/** Tags the service writes on models and versions; never shown to clients, never set by them. */

export function publicTags(tags: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(tags)) {
    if (!key.startsWith('registry.')) out[key] = value;
  }
  return out;
}

export function mapVersion(record: ModelVersionRecord, run: RunRecord | null): VersionDto {
  return {
    name: record.name,
    version: record.version,
    stage: record.stage,
    artifact_uri: record.source,
    artifact_id: record.tags[SERVICE_TAGS.artifactId] ?? null,
    metrics: run ? { ...run.metrics } : {},
    parameters: run ? { ...run.params } : {},
    tags: publicTags(record.tags),
    aliases: [...record.aliases],
    description: record.description,
    run_id: record.runId,
    created_by: record.tags[SERVICE_TAGS.createdBy] ?? null,
    created_at: iso(record.createdAt),
    last_updated: iso(record.lastUpdatedAt),
  };
}
