import type { Migration } from 'kysely';
import * as initial from './001-initial';
import * as applyLease from './002-apply-lease';
import * as placement from './003-placement';
import * as reliability from './004-reliability';
import * as principalTenants from './005-principal-tenants';
import * as modelUpdatedIndex from './006-model-updated-index';
import * as auditChain from './007-audit-chain';
import * as governance from './008-governance';
import * as aliases from './010-aliases';
import * as aliasRequests from './011-alias-requests';
import * as webhooks from './009-webhooks';
import * as aliasIntents from './012-alias-intents';

/** Every migration, in order. Names are stable: they are recorded in the database. */
export const migrations: Record<string, Migration> = {
  '001-initial': initial,
  '002-apply-lease': applyLease,
  '003-placement': placement,
  '004-reliability': reliability,
  '005-principal-tenants': principalTenants,
  '006-model-updated-index': modelUpdatedIndex,
  '007-audit-chain': auditChain,
  '008-governance': governance,
  '010-aliases': aliases,
  '011-alias-requests': aliasRequests,
  '009-webhooks': webhooks,
  '012-alias-intents': aliasIntents,
};
