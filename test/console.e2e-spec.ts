import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import request from 'supertest';
import {
  buildConsole,
  launchChromium,
  newConsolePage,
  seriousViolations,
} from './support/console-browser';
import { auth, registerVersion } from './support/fixtures';
import { ROOT } from './support/service-process';
import { BASE, createTestApp, mintToken, removeDir, TestApp } from './support/test-app';

/**
 * The approvers' console (/ui) in headless Chromium, on the real service (embedded default): an
 * editor requests production, an approver finds it in the inbox, reviews the candidate against
 * the version in production and approves it. axe-core checks every page on the way.
 */

const MODEL = 'console-churn';
// CONSOLE_SCREENSHOTS=1 rewrites docs/console-*.png (shown in the README).
const SCREENSHOTS = process.env['CONSOLE_SCREENSHOTS'] === '1';

jest.setTimeout(60_000);

describe('Console (e2e, headless Chromium)', () => {
  let t: TestApp;
  let browser: Browser;
  let base: string;
  let alice: string;
  let bob: string;

  beforeAll(async () => {
    buildConsole();
    t = await createTestApp();
    await t.app.listen(0, '127.0.0.1');
    base = `http://127.0.0.1:${(t.http.address() as AddressInfo).port}`;
    alice = await t.token('alice', ['editor']);
    bob = await t.token('bob', ['approver']);
    // Version 1 in production (requested by alice, approved by bob), version 2 the candidate.
    await registerVersion(t, alice, MODEL, { metrics: { f1_score: 0.85, val_loss: 0.4 } });
    const opened = await t
      .api()
      .post(`${BASE}/models/${MODEL}/versions/1/stage`)
      .set(...auth(alice))
      .send({ stage: 'production' })
      .expect(202);
    await t
      .api()
      .post(`${BASE}/approvals/${opened.body.approval.id}/approve`)
      .set(...auth(bob))
      .expect(200);
    // From now on production needs an F1 of 0.9 and no F1 regression: the request's gates.
    await t
      .api()
      .put(`${BASE}/policies/production`)
      .set(...auth(await t.token('ada', ['admin'])))
      .send({
        gates: [{ metric: 'f1_score', op: '>=', value: 0.9 }],
        no_regression: [{ metric: 'f1_score', tolerance: 0.01 }],
      })
      .expect(200);
    await registerVersion(t, alice, MODEL, { metrics: { f1_score: 0.91, val_loss: 0.45 } });
    browser = await launchChromium();
  });

  afterAll(async () => {
    await browser?.close();
    if (t) {
      await t.close();
      removeDir(t.dataDir);
    }
  });

  async function expectAccessible(page: Page): Promise<void> {
    expect(await seriousViolations(page)).toEqual([]);
  }

  async function signIn(page: Page, token: string): Promise<void> {
    await page.goto(`${base}/ui`);
    await page.getByRole('textbox', { name: 'Access token' }).fill(token);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('button', { name: 'Sign out' }).waitFor();
  }

  it('serves the page with a strict Content-Security-Policy and its sign-in settings', async () => {
    const page = await request(t.http).get('/ui').expect(200);
    expect(page.headers['content-type']).toMatch(/^text\/html/);
    const csp = page.headers['content-security-policy'];
    expect(csp).toContain("default-src 'self'");
    expect(csp).toContain("script-src 'self'");
    expect(csp).not.toContain('unsafe-inline');
    expect(page.text).not.toMatch(/<script>|<style>| style=/);
    const config = await request(t.http).get('/ui/config.json').expect(200);
    expect(config.body).toEqual({ api_base: `/${'api/v1/ml/registry'}`, oidc: null });
    await request(t.http)
      .get('/ui/app.js')
      .expect(200)
      .expect('content-type', /javascript/);
  });

  it('lets an editor request production and shows the requester no Approve button', async () => {
    const { page, problems } = await newConsolePage(browser);
    await page.goto(`${base}/ui`);
    await expectAccessible(page);
    await signIn(page, alice);
    expect(page.url()).not.toContain(alice);
    expect(await page.evaluate('Object.values(sessionStorage)')).toContain(alice);

    await page.getByRole('link', { name: 'Models' }).click();
    await page.getByRole('heading', { name: 'Models', exact: true }).waitFor();
    await page.getByRole('searchbox', { name: 'Search by name' }).fill('churn');
    await page.getByRole('button', { name: 'Search' }).click();
    await expectAccessible(page);
    await page.getByRole('link', { name: MODEL, exact: true }).click();
    const versions = page.getByRole('table', { name: `Versions of ${MODEL}` });
    await versions.waitFor();
    await expectAccessible(page);
    await versions.getByRole('link', { name: 'v2', exact: true }).click();

    await page.getByRole('heading', { name: `${MODEL} version 2` }).waitFor();
    await page
      .getByRole('table', { name: 'Files of artifact' })
      .or(page.getByRole('table', { name: /^Files of artifact/ }))
      .first()
      .waitFor();
    await expectAccessible(page);
    await page.getByRole('textbox', { name: 'Comment' }).fill('0.91 F1 on the holdout set');
    await page.getByRole('button', { name: 'Request production' }).click();
    await page.getByText('Requested: waiting for 1 approval').waitFor();

    // The requester's own review page: the reason instead of the buttons.
    await page.getByRole('link', { name: 'See the request' }).click();
    await page.getByRole('heading', { name: 'Review request' }).waitFor();
    await page.getByText('You made this request: another person must decide it').waitFor();
    expect(await page.getByRole('button', { name: 'Approve' }).count()).toBe(0);
    expect(await page.getByRole('button', { name: 'Reject' }).count()).toBe(0);
    await expectAccessible(page);
    expect(problems).toEqual([]);
    await page.context().close();
  });

  it('lets an approver find the request, review it against production and approve it', async () => {
    const { page, problems } = await newConsolePage(browser);
    await signIn(page, bob);
    await page.getByRole('heading', { name: 'Pending approvals', exact: true }).waitFor();
    const inbox = page.getByRole('table', { name: /Requests you may vote on/ });
    const row = inbox.getByRole('row').filter({ hasText: MODEL });
    await row.waitFor();
    expect(await row.innerText()).toMatch(/promotion[\s\S]*alice[\s\S]*all 2 passed[\s\S]*0 of 1/);
    expect(await page.getByLabel('1 awaiting your vote').innerText()).toBe('1');
    await expectAccessible(page);
    if (SCREENSHOTS) {
      await page.setViewportSize({ width: 1100, height: 320 });
      await page.screenshot({ path: join(ROOT, 'docs', 'console-inbox.png') });
    }

    // On a phone: nothing wider than the screen.
    await page.setViewportSize({ width: 375, height: 800 });
    expect(await page.evaluate('document.documentElement.scrollWidth')).toBeLessThanOrEqual(375);
    await page.setViewportSize({ width: 1280, height: 900 });

    await row.getByRole('link', { name: 'Review' }).click();
    const deltas = page.getByRole('table', { name: /against version 1 \(in production\)/ });
    await deltas.waitFor();
    const f1 = await deltas.getByRole('row').filter({ hasText: 'f1_score' }).innerText();
    expect(f1.split('\t').map((c) => c.trim())).toEqual([
      'f1_score',
      '0.85',
      '0.91',
      '+0.06',
      'higher',
      '▲ better',
    ]);
    const loss = await deltas.getByRole('row').filter({ hasText: 'val_loss' }).innerText();
    expect(loss.split('\t').map((c) => c.trim())).toEqual([
      'val_loss',
      '0.4',
      '0.45',
      '+0.05',
      'lower',
      '▼ worse',
    ]);
    await page
      .getByRole('region', { name: 'Request', exact: true })
      .getByText('0.91 F1 on the holdout set')
      .waitFor();
    await page
      .getByRole('table', { name: /^Files of artifact/ })
      .getByText('model.pkl')
      .waitFor();
    await page.getByRole('table', { name: 'History, oldest first' }).waitFor();
    await page.getByRole('region', { name: 'Gates' }).getByText('Passed').first().waitFor();
    expect(await page.getByRole('region', { name: 'Gates' }).getByRole('listitem').count()).toBe(2);
    await expectAccessible(page);
    if (SCREENSHOTS) {
      await page.screenshot({ path: join(ROOT, 'docs', 'console-review.png'), fullPage: true });
    }

    // A reject without a comment is refused in the page: nothing is sent.
    await page.getByRole('button', { name: 'Reject' }).click();
    await page.getByRole('alert').filter({ hasText: 'A comment is required to reject' }).waitFor();
    const pending = await t
      .api()
      .get(`${BASE}/approvals?model=${MODEL}&status=pending`)
      .set(...auth(bob))
      .expect(200);
    expect(pending.body.approvals).toHaveLength(1);

    await page.getByRole('textbox', { name: 'Comment' }).fill('F1 gain outweighs the loss');
    await page.getByRole('button', { name: 'Approve' }).click();
    await page
      .getByRole('status')
      .filter({ hasText: `Approved and applied: version 2 of ${MODEL} is now in production` })
      .waitFor();
    await expectAccessible(page);

    const version = await t
      .api()
      .get(`${BASE}/models/${MODEL}/versions/2`)
      .set(...auth(bob))
      .expect(200);
    expect(version.body.stage).toBe('production');
    expect(problems).toEqual([]);
    await page.context().close();
  });

  it('compares versions with the recommendation, and sends a refused token back to sign-in', async () => {
    const { page, problems } = await newConsolePage(browser);
    await signIn(page, await t.token('vera', ['viewer']));
    await page.goto(`${base}/ui#/models/${MODEL}`);
    await page.getByRole('checkbox', { name: 'Compare version 1' }).check();
    await page.getByRole('button', { name: 'Compare selected versions' }).click();
    await page.getByRole('alert').filter({ hasText: 'Choose 2 to 10 versions' }).waitFor();
    await page.getByRole('checkbox', { name: 'Compare version 2' }).check();
    await page.getByRole('button', { name: 'Compare selected versions' }).click();
    await page.getByRole('heading', { name: `Compare versions of ${MODEL}` }).waitFor();
    await page.getByText('Recommendation:').waitFor();
    await expectAccessible(page);
    expect(problems).toEqual([]);

    // A token the API refuses (signed with another secret): back to sign-in, with its message.
    const forged = await mintToken(
      { tenant_id: 'acme-corp', roles: ['approver'] },
      { sub: 'mallory', secret: 'another-secret-that-is-at-least-32-characters' },
    );
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('textbox', { name: 'Access token' }).fill(forged);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByText(/You were signed out: .*signature/).waitFor();
    await page.getByRole('textbox', { name: 'Access token' }).waitFor();
    expect(await page.evaluate('Object.values(sessionStorage)')).not.toContain(forged);
    await page.context().close();
  });

  it('searches the models by name and pages through them', async () => {
    const editor = await t.token('alice', ['editor']);
    for (let i = 1; i <= 21; i++) {
      await registerVersion(t, editor, `paged-model-${String(i).padStart(2, '0')}`);
    }
    const { page, problems } = await newConsolePage(browser);
    await signIn(page, await t.token('vera', ['viewer']));
    await page.getByRole('link', { name: 'Models' }).click();
    await page.getByRole('searchbox', { name: 'Search by name' }).fill('paged-model');
    await page.getByRole('button', { name: 'Search' }).click();
    const rows = page.getByRole('table', { name: /Models whose name contains/ }).getByRole('row');
    await rows.filter({ hasText: 'paged-model-20' }).waitFor();
    expect(await rows.count()).toBe(1 + 20);
    await page.getByRole('button', { name: 'Next page' }).click();
    await rows.filter({ hasText: 'paged-model-21' }).waitFor();
    expect(await rows.count()).toBe(1 + 1);
    expect(await page.getByRole('button', { name: 'Next page' }).count()).toBe(0);
    await page.getByRole('button', { name: 'Previous page' }).click();
    await rows.filter({ hasText: 'paged-model-01' }).waitFor();
    expect(await rows.count()).toBe(1 + 20);
    expect(problems).toEqual([]);
    await page.context().close();
  });

  it('tells a viewer why they cannot decide, shows a refused request’s message, and ends an expiring session', async () => {
    // A candidate that passes the gates (pending, requested by alice) and one that does not.
    await registerVersion(t, alice, MODEL, { metrics: { f1_score: 0.95, val_loss: 0.3 } });
    const opened = await t
      .api()
      .post(`${BASE}/models/${MODEL}/versions/3/stage`)
      .set(...auth(alice))
      .send({ stage: 'production' })
      .expect(202);
    await registerVersion(t, alice, MODEL, { metrics: { f1_score: 0.5, val_loss: 0.9 } });

    const viewer = await newConsolePage(browser);
    await signIn(viewer.page, await t.token('vera', ['viewer']));
    await viewer.page.goto(`${base}/ui#/approvals/${opened.body.approval.id}`);
    await viewer.page.getByRole('heading', { name: 'Review request' }).waitFor();
    await viewer.page
      // The production policy names no approver_roles: its default, approver.
      .getByText('Deciding needs the role approver; you have viewer.')
      .waitFor();
    expect(await viewer.page.getByRole('button', { name: 'Approve' }).count()).toBe(0);
    expect(await viewer.page.getByRole('button', { name: 'Reject' }).count()).toBe(0);
    await expectAccessible(viewer.page);
    expect(viewer.problems).toEqual([]);
    await viewer.page.context().close();

    // The API refuses the request (422 GATES_FAILED): its message, in the page.
    const editor = await newConsolePage(browser);
    await signIn(editor.page, alice);
    await editor.page.goto(`${base}/ui#/models/${MODEL}/versions/4`);
    await editor.page.getByRole('heading', { name: `${MODEL} version 4` }).waitFor();
    await editor.page.getByRole('button', { name: 'Request production' }).click();
    await editor.page
      .getByRole('alert')
      .filter({ hasText: "version 4 of 'console-churn' does not meet the production policy" })
      .waitFor();
    await expectAccessible(editor.page);
    await editor.page.context().close();

    // A token that expires while the page is open: back to sign-in at its exp, token dropped.
    const short = await mintToken(
      { tenant_id: 'acme-corp', roles: ['viewer'] },
      { sub: 'vera', expiresIn: Math.floor(Date.now() / 1000) + 3 },
    );
    const expiring = await newConsolePage(browser);
    await signIn(expiring.page, short);
    await expiring.page
      .getByText('Your session has expired. Sign in again.')
      .waitFor({ timeout: 10_000 });
    await expiring.page.getByRole('textbox', { name: 'Access token' }).waitFor();
    expect(await expiring.page.evaluate('Object.values(sessionStorage)')).not.toContain(short);
    await expiring.page.context().close();
  });

  it('works from the keyboard alone, with the focus visible, and shows admins the audit check', async () => {
    const { page, problems } = await newConsolePage(browser);
    await page.goto(`${base}/ui`);
    await page.getByRole('textbox', { name: 'Access token' }).focus();
    await page.keyboard.type(await t.token('ada', ['admin']));
    await page.keyboard.press('Tab');
    const focused = await page.evaluate<{ text: string; outline: string }>(
      '({ text: document.activeElement.textContent, outline: getComputedStyle(document.activeElement).outlineStyle })',
    );
    expect(focused).toEqual({ text: 'Sign in', outline: 'solid' });
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { name: 'Pending approvals', exact: true }).waitFor();

    // Admins: the audit chain's verification as the API answers it (its message if it has none).
    await page.getByRole('link', { name: 'Audit' }).focus();
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { name: 'Audit chain' }).waitFor();
    const answer = page
      .getByRole('alert')
      .or(page.getByRole('status').filter({ hasText: 'Verified: the chain is intact' }));
    await answer.first().waitFor();
    expect((await answer.first().innerText()).trim()).not.toBe('');
    await expectAccessible(page);
    expect(problems).toEqual([]);
    await page.context().close();
  });
});
