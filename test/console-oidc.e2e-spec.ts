import { ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { Browser } from 'playwright-core';
import request from 'supertest';
import {
  buildConsole,
  launchChromium,
  newConsolePage,
  seriousViolations,
} from './support/console-browser';
import { freePort, ROOT } from './support/service-process';
import { BASE, createTestApp, removeDir, TestApp } from './support/test-app';

/**
 * The console's sign-in with an OIDC provider: authorization code + PKCE in the browser, a
 * public client, against a real provider (oidc-provider) run on loopback as a child process; the
 * access token it issues is checked by the service through AUTH_JWKS_URI.
 */

const CLIENT_ID = 'registry-console';
const RESOURCE = 'urn:model-registry';

jest.setTimeout(60_000);

/** Starts test/support/oidc-provider.mjs; resolves with its issuer once it listens. */
function startProvider(redirectUri: string): Promise<{ child: ChildProcess; issuer: string }> {
  const child = spawn(process.execPath, [join(ROOT, 'test', 'support', 'oidc-provider.mjs')], {
    env: {
      ...process.env,
      OIDC_CLIENT_ID: CLIENT_ID,
      OIDC_REDIRECT_URI: redirectUri,
      OIDC_RESOURCE: RESOURCE,
      OIDC_ACCOUNTS: JSON.stringify({ carol: { tenant_id: 'acme-corp', roles: ['approver'] } }),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`provider did not start: ${stderr}`)), 15_000);
    child.once('exit', (code) => reject(new Error(`provider exited (${code}): ${stderr}`)));
    createInterface({ input: child.stdout }).once('line', (line) => {
      clearTimeout(timer);
      resolve({ child, issuer: (JSON.parse(line) as { issuer: string }).issuer });
    });
  });
}

describe('Console sign-in with OIDC (e2e, oidc-provider, headless Chromium)', () => {
  let provider: ChildProcess | undefined;
  let issuer: string;
  let t: TestApp | undefined;
  let browser: Browser | undefined;
  let base: string;

  beforeAll(async () => {
    buildConsole();
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    ({ child: provider, issuer } = await startProvider(`${base}/ui/`));
    t = await createTestApp({
      env: {
        AUTH_JWT_SECRET: '',
        AUTH_JWKS_URI: `${issuer}/jwks`,
        AUTH_AUDIENCE: RESOURCE,
        AUTH_ISSUER: issuer,
        UI_OIDC_ISSUER: issuer,
        UI_OIDC_CLIENT_ID: CLIENT_ID,
        UI_OIDC_SCOPE: 'openid registry',
        UI_OIDC_RESOURCE: RESOURCE,
      },
    });
    await t.app.listen(port, '127.0.0.1');
    browser = await launchChromium();
  });

  afterAll(async () => {
    await browser?.close();
    if (t) {
      await t.close();
      removeDir(t.dataDir);
    }
    provider?.kill('SIGTERM');
  });

  it('publishes the provider to the page and lets it call the provider (CSP connect-src)', async () => {
    const res = await request(t!.http).get('/ui/config.json').expect(200);
    expect(res.body.oidc).toEqual({
      issuer,
      client_id: CLIENT_ID,
      scope: 'openid registry',
      resource: RESOURCE,
    });
    expect(res.headers['content-security-policy']).toContain(`connect-src 'self' ${issuer}`);
  });

  it("signs in at the provider's login form, then loads the inbox with the access token it issued", async () => {
    const { page, problems } = await newConsolePage(browser!);
    await page.goto(`${base}/ui`);
    expect(await seriousViolations(page)).toEqual([]);
    await page.getByRole('button', { name: 'Sign in with your organisation' }).click();

    // oidc-provider's own login page (devInteractions): any login is accepted.
    await page.waitForURL(`${issuer}/**`);
    await page.locator('input[name=login]').fill('carol');
    await page.locator('input[name=password]').fill('any password');
    await page.locator('button[type=submit]').click();
    // Its consent page: the console asks for the API's scope.
    await page.getByRole('button', { name: 'Continue' }).click();

    await page.waitForURL(`${base}/ui/**`);
    await page.getByRole('heading', { name: 'Pending approvals', exact: true }).waitFor();
    await page.getByText('Nothing awaits your vote.').waitFor();
    await page.getByText('carol · acme-corp · approver').waitFor();
    // Neither the code nor the token stays in the address.
    expect(page.url()).toBe(`${base}/ui/#/`);
    const stored = await page.evaluate<string[]>('Object.values(sessionStorage)');
    expect(stored).toHaveLength(1);
    const token = stored[0];
    expect(page.url()).not.toContain(token);
    // The provider's RS256 access token, for this API, carrying the registry's claims.
    const claims = JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString());
    expect(claims).toMatchObject({
      sub: 'carol',
      tenant_id: 'acme-corp',
      roles: ['approver'],
      aud: RESOURCE,
      iss: issuer,
    });
    await request(t!.http)
      .get(`${BASE}/approvals?awaiting_me=true`)
      .set('Authorization', `Bearer ${token}`)
      .expect(200);
    expect(await seriousViolations(page)).toEqual([]);

    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('button', { name: 'Sign in with your organisation' }).waitFor();
    expect(await page.evaluate('Object.values(sessionStorage)')).toEqual([]);
    expect(problems).toEqual([]);
    await page.context().close();
  });
});
