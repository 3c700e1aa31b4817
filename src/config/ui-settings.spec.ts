import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigurationError, loadConfig } from './app-config';

describe('loadConfig: the console sign-in (UI_OIDC_*)', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'config-spec-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));
  const load = (env: Record<string, string>) =>
    loadConfig({ DATA_DIR: dir, AUTH_JWT_SECRET: 'a'.repeat(32), ...env });

  it('asks for a token when no UI_OIDC_* is set', () => {
    expect(load({}).ui).toEqual({});
  });

  it('reads the provider, the public client, the scope (default openid) and the resource', () => {
    expect(
      load({ UI_OIDC_ISSUER: 'https://login.example.com/', UI_OIDC_CLIENT_ID: 'registry-console' })
        .ui,
    ).toEqual({
      oidc: { issuer: 'https://login.example.com', clientId: 'registry-console', scope: 'openid' },
    });
    expect(
      load({
        UI_OIDC_ISSUER: 'http://127.0.0.1:9000',
        UI_OIDC_CLIENT_ID: 'c',
        UI_OIDC_SCOPE: 'openid registry',
        UI_OIDC_RESOURCE: 'urn:model-registry',
      }).ui.oidc,
    ).toEqual({
      issuer: 'http://127.0.0.1:9000',
      clientId: 'c',
      scope: 'openid registry',
      resource: 'urn:model-registry',
    });
  });

  it.each([
    [
      { UI_OIDC_ISSUER: 'https://login.example.com' },
      'UI_OIDC_CLIENT_ID is required with UI_OIDC_ISSUER',
    ],
    [{ UI_OIDC_CLIENT_ID: 'c' }, 'UI_OIDC_ISSUER is required with UI_OIDC_CLIENT_ID'],
    [
      { UI_OIDC_ISSUER: 'http://login.example.com', UI_OIDC_CLIENT_ID: 'c' },
      'UI_OIDC_ISSUER must use https',
    ],
    [
      { UI_OIDC_ISSUER: 'login.example.com', UI_OIDC_CLIENT_ID: 'c' },
      'UI_OIDC_ISSUER must be an http(s) URL',
    ],
    [
      {
        UI_OIDC_ISSUER: 'https://login.example.com',
        UI_OIDC_CLIENT_ID: 'c',
        UI_OIDC_SCOPE: 'profile',
      },
      "UI_OIDC_SCOPE must include 'openid'",
    ],
  ])('refuses %j at boot, naming the variable', (env, message) => {
    expect(() => load(env)).toThrow(ConfigurationError);
    expect(() => load(env)).toThrow(message);
  });
});
