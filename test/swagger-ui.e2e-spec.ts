import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import type { Browser, Page } from 'playwright-core';
import { launchChromium } from './support/console-browser';
import { registerVersion } from './support/fixtures';
import { createTestApp, removeDir, TestApp } from './support/test-app';

/**
 * Drives the real Swagger UI page the app serves at /docs in headless Chromium: authorize with a
 * bearer token, "Try it out" on the list-models operation and check the live response it renders.
 */

const MODEL_NAME = 'swagger-ui-fraud-detector';
const LIST_OPERATION = '#operations-models-ModelsController_list';
const UPLOAD_OPERATION = '#operations-artifacts-ArtifactsController_upload';
const REGISTER_OPERATION = '#operations-models-ModelsController_register';
const SCREENSHOTS = process.env['SWAGGER_UI_SCREENSHOTS'];

// Chromium startup is slow on small machines.
jest.setTimeout(60_000);

interface LiveResponse {
  status: string;
  body: string;
  curl: string;
}

describe('Swagger UI (e2e, headless Chromium)', () => {
  let t: TestApp | undefined;
  let browser: Browser | undefined;
  let docsUrl: string;

  beforeAll(async () => {
    t = await createTestApp();
    await registerVersion(t, await t.token('alice', ['editor']), MODEL_NAME);
    await t.app.listen(0, '127.0.0.1');
    const { port } = t.http.address() as AddressInfo;
    docsUrl = `http://127.0.0.1:${port}/docs`;

    // A fresh temporary profile, deleted on close().
    browser = await launchChromium();
  });

  afterAll(async () => {
    await browser?.close();
    if (t) {
      await t.close();
      removeDir(t.dataDir);
    }
  });

  /** A page in a fresh browser context (no stored authorization) showing the loaded Swagger UI. */
  async function openDocs(): Promise<Page> {
    const context = await browser!.newContext();
    const page = await context.newPage();
    page.setDefaultTimeout(20_000);
    await page.goto(docsUrl);
    await page.locator(LIST_OPERATION).waitFor();
    return page;
  }

  async function authorize(page: Page, token: string): Promise<void> {
    await page.locator('.auth-wrapper button.authorize', { hasText: 'Authorize' }).click();
    const dialog = page.locator('.modal-ux');
    await dialog.waitFor();
    await dialog.locator('#auth-bearer-value').fill(token);
    await dialog.locator('.auth-btn-wrapper button', { hasText: 'Authorize' }).click();
    // Once the credentials are applied, the dialog offers Logout instead of Authorize.
    await dialog.locator('.auth-btn-wrapper button', { hasText: 'Logout' }).waitFor();
    await dialog.locator('.auth-btn-wrapper button', { hasText: 'Close' }).click();
    await dialog.waitFor({ state: 'detached' });
  }

  /** The live response Swagger UI renders for `op` after Execute. */
  async function liveResponse(op: ReturnType<Page['locator']>): Promise<LiveResponse> {
    // The "Server response" table; its header row also has a .response-col_status cell ("Code").
    const row = op.locator('.live-responses-table tbody tr.response');
    await row.waitFor();
    return {
      status: (await row.locator('.response-col_status').innerText()).trim(),
      body: await row.locator('.response-col_description .highlight-code pre').innerText(),
      curl: await op.locator('.curl-command pre.curl').innerText(),
    };
  }

  async function tryItOut(page: Page, operation: string): Promise<ReturnType<Page['locator']>> {
    const op = page.locator(operation);
    await op.locator('.opblock-summary-control').click();
    await op.locator('button', { hasText: 'Try it out' }).click();
    return op;
  }

  /** Expands the list-models operation, clicks Try it out and Execute; returns the live response. */
  async function executeListModels(page: Page): Promise<LiveResponse> {
    const op = await tryItOut(page, LIST_OPERATION);
    await op.locator('button', { hasText: 'Execute' }).click();
    return liveResponse(op);
  }

  it('uploads a model file, registers it and lists it, all from the page as it renders', async () => {
    const page = await openDocs();
    const dir = mkdtempSync(join(tmpdir(), 'swagger-ui-'));
    try {
      const model = join(dir, 'model.pkl');
      writeFileSync(model, Buffer.from('\x80\x04\x95pickled model bytes', 'latin1'));
      await authorize(page, await t!.token('erin', ['editor']));

      // Upload: choose only the model file, leave every other part as the form shows it.
      const upload = await tryItOut(page, UPLOAD_OPERATION);
      await upload.locator('tr[data-property-name="model"] input[type=file]').setInputFiles(model);
      if (SCREENSHOTS) await upload.screenshot({ path: join(SCREENSHOTS, 'upload-form.png') });
      await upload.locator('button', { hasText: 'Execute' }).click();
      const uploaded = await liveResponse(upload);
      expect(uploaded.status).toBe('201');
      const manifest = JSON.parse(uploaded.body) as {
        artifact_id: string;
        files: { name: string }[];
      };
      // Only the file chosen: no placeholder config, metrics or requirements were stored.
      expect(manifest.files.map((f) => f.name)).toEqual(['model.pkl']);

      // Register it: the JSON body edited in the page's text area.
      const register = await tryItOut(page, REGISTER_OPERATION);
      await register
        .locator('textarea.body-param__text')
        .fill(JSON.stringify({ name: 'swagger-ui-upload', artifact_id: manifest.artifact_id }));
      await register.locator('button', { hasText: 'Execute' }).click();
      const registered = await liveResponse(register);
      expect(registered.status).toBe('201');
      expect(JSON.parse(registered.body)).toMatchObject({
        name: 'swagger-ui-upload',
        version: 1,
        stage: 'none',
        artifact_id: manifest.artifact_id,
      });

      // And list it.
      const list = await tryItOut(page, LIST_OPERATION);
      await list.locator('button', { hasText: 'Execute' }).click();
      const listed = await liveResponse(list);
      expect(listed.status).toBe('200');
      const names = (JSON.parse(listed.body) as { models: { name: string }[] }).models.map(
        (m) => m.name,
      );
      expect(names).toContain('swagger-ui-upload');
      if (SCREENSHOTS)
        await page.screenshot({ path: join(SCREENSHOTS, 'after-list.png'), fullPage: true });
    } finally {
      await page.context().close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('lists the registered model after authorizing with a bearer token', async () => {
    const page = await openDocs();
    try {
      const token = await t!.token('alice', ['viewer']);
      await authorize(page, token);
      const res = await executeListModels(page);

      expect(res.curl).toContain(`Authorization: Bearer ${token}`);
      expect(res.status).toBe('200');
      expect(res.body).toContain(MODEL_NAME);
      const body = JSON.parse(res.body) as { models: { name: string }[] };
      expect(body.models.map((m) => m.name)).toContain(MODEL_NAME);
    } finally {
      await page.context().close();
    }
  });

  it('shows 401 when the operation is executed without authorizing', async () => {
    const page = await openDocs();
    try {
      const res = await executeListModels(page);

      expect(res.curl).not.toContain('Authorization');
      expect(res.status).toBe('401');
      expect(res.body).not.toContain(MODEL_NAME);
      expect(JSON.parse(res.body)).toMatchObject({ statusCode: 401, code: 'UNAUTHENTICATED' });
    } finally {
      await page.context().close();
    }
  });
});
