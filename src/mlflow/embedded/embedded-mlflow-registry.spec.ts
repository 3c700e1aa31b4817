import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../config/app-config';
import { Database } from '../../database/database';
import { describeMlflowRegistryContract } from '../mlflow-registry.contract';
import { EmbeddedMlflowRegistry } from './embedded-mlflow-registry';

describeMlflowRegistryContract('embedded (SQLite)', async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'registry-contract-'));
  const database = await Database.open(
    loadConfig({ DATA_DIR: dataDir, AUTH_JWT_SECRET: 'x'.repeat(32) }),
  );
  return {
    registry: new EmbeddedMlflowRegistry(database),
    teardown: async () => {
      await database.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
});
