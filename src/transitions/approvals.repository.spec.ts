import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../config/app-config';
import { Database } from '../database/database';
import { describeApprovalsAcrossConnections } from './approvals.repository.contract';

describeApprovalsAcrossConnections('SQLite, two connections on one file', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'approvals-race-'));
  const config = loadConfig({ DATA_DIR: dir, AUTH_JWT_SECRET: 'x'.repeat(32) });
  const one = await Database.open(config);
  const two = await Database.open(config);
  return {
    one,
    two,
    teardown: async () => {
      await one.close();
      await two.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
});
