import { freshDatabase } from '../../test/support/stack';
import { loadConfig } from '../config/app-config';
import { Database } from '../database/database';
import { describeApprovalsAcrossConnections } from './approvals.repository.contract';

describeApprovalsAcrossConnections('PostgreSQL, two pools on one database', async () => {
  const config = loadConfig({
    DATA_DIR: '/tmp/unused-registry-data',
    AUTH_JWT_SECRET: 'x'.repeat(32),
    DATABASE_URL: await freshDatabase('approvals'),
  });
  // Booting together, as two replicas would: the migrations run once, under the lock.
  const [one, two] = await Promise.all([Database.open(config), Database.open(config)]);
  return {
    one,
    two,
    teardown: async () => {
      await one.close();
      await two.close();
    },
  };
});
