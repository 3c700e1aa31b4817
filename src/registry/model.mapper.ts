import type { Frozen } from '../common/fast-path';
import { RegisteredModelRecord, Stage } from '../mlflow/registry-types';
import { publicTags } from '../versions/version.mapper';
import { iso } from '../common/time';
import type { ModelSummaryDto } from './dto/model.dto';

function newestIn(model: Frozen<RegisteredModelRecord>, stage: Stage): number | null {
  const versions = model.latestVersions.filter((v) => v.stage === stage).map((v) => v.version);
  return versions.length > 0 ? Math.max(...versions) : null;
}

export function mapModelSummary(model: Frozen<RegisteredModelRecord>): ModelSummaryDto {
  const all = model.latestVersions.map((v) => v.version);
  return {
    name: model.name,
    latest_version: all.length > 0 ? Math.max(...all) : null,
    production_version: newestIn(model, Stage.Production),
    staging_version: newestIn(model, Stage.Staging),
    created_at: iso(model.createdAt),
    last_updated: iso(model.lastUpdatedAt),
    description: model.description,
    tags: publicTags(model.tags),
    aliases: { ...model.aliases },
  };
}
