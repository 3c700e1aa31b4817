import request from 'supertest';
import { registerVersion, upload } from './fixtures';
import { BASE, mintToken, Role, TestApp } from './test-app';

/** A token for `sub` in `tenant` with `roles` (the harness's callers). */
export function tokenFor(tenant: string, sub: string, roles: Role[]): Promise<string> {
  return mintToken({ tenant_id: tenant, roles }, { sub });
}

/** Uploads an artifact; returns its id. */
export async function uploadArtifact(t: TestApp, token: string): Promise<string> {
  const res = await upload(t, token, { metrics: { f1_score: 0.9, log_loss: 0.3 } }).expect(201);
  return res.body.artifact_id as string;
}

/** Registers a new version of `name` (creating the model if new); returns its number. */
export async function newVersion(
  t: TestApp,
  token: string,
  name: string,
  metrics: Record<string, number> = { f1_score: 0.9 },
): Promise<number> {
  const v = await registerVersion(t, token, name, { metrics });
  return v.version;
}

/** Opens a production request on a version; returns the approval id. */
export async function requestProduction(
  t: TestApp,
  token: string,
  name: string,
  version: number,
): Promise<string> {
  const res = await request(t.http)
    .post(`${BASE}/models/${name}/versions/${version}/stage`)
    .set('Authorization', `Bearer ${token}`)
    .send({ stage: 'production', comment: 'ready' })
    .expect(202);
  return res.body.approval.id as string;
}

/** A webhook (admin) with one delivery (its test event); their ids, as the paths name them. */
export async function newWebhook(
  t: TestApp,
  adminToken: string,
): Promise<{ webhook_id: string; delivery_id: string }> {
  const hook = await request(t.http)
    .post(`${BASE}/webhooks`)
    .set('Authorization', `Bearer ${adminToken}`)
    .send({ url: 'https://ci.example/hooks/registry', events: ['*'] })
    .expect(201);
  const delivery = await request(t.http)
    .post(`${BASE}/webhooks/${hook.body.id as string}/test`)
    .set('Authorization', `Bearer ${adminToken}`)
    .expect(202);
  return { webhook_id: hook.body.id as string, delivery_id: delivery.body.id as string };
}

/** Ids of a webhook and delivery that do not exist (well-formed). */
export const MISSING_WEBHOOK_IDS = {
  webhook_id: 'wh_00000000000000000000',
  delivery_id: 'dlv_000000000000000000000000',
};

let counter = 0;
/** A model name no other fixture of this process uses. */
export function uniqueName(prefix: string): string {
  counter += 1;
  return `${prefix}-${process.pid}-${counter}`;
}
