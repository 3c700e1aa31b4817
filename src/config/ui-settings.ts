/** The console's sign-in, as the page reads it from /ui/config.json. */
export interface UiSettings {
  /** Set with UI_OIDC_ISSUER + UI_OIDC_CLIENT_ID: authorization code + PKCE in the browser. */
  oidc?: {
    /** The provider's issuer URL; its discovery document is read by the browser. */
    issuer: string;
    /** A public client (no secret) whose redirect URI is `<service origin>/ui/`. */
    clientId: string;
    /** Scopes asked for; `openid` at least. */
    scope: string;
    /** A resource indicator (RFC 8707) sent with the requests, so the access token is for us. */
    resource?: string;
  };
}

export interface UiEnvironment {
  UI_OIDC_ISSUER?: string;
  UI_OIDC_CLIENT_ID?: string;
  UI_OIDC_SCOPE?: string;
  UI_OIDC_RESOURCE?: string;
}

const blank = (value: string | undefined): string | undefined =>
  value === undefined || value.trim() === '' ? undefined : value.trim();

function httpUrl(name: string, value: string, fail: (message: string) => never): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    fail(`${name} must be an http(s) URL, e.g. https://login.example.com`);
  }
  const loopback = ['localhost', '127.0.0.1', '[::1]'].includes(url.hostname);
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && loopback)) {
    fail(`${name} must use https (plain http only on a loopback address)`);
  }
  return value.replace(/\/+$/, '');
}

/**
 * UI_OIDC_*: both of issuer and client id, or neither (then the console asks for a token).
 * `fail` throws the configuration error (as in azure-settings.ts, without importing app-config).
 */
export function uiSettings(env: UiEnvironment, fail: (message: string) => never): UiSettings {
  const issuer = blank(env.UI_OIDC_ISSUER);
  const clientId = blank(env.UI_OIDC_CLIENT_ID);
  if (issuer === undefined && clientId === undefined) return {};
  if (issuer === undefined || clientId === undefined) {
    fail(
      `${issuer === undefined ? 'UI_OIDC_ISSUER' : 'UI_OIDC_CLIENT_ID'} is required with ` +
        `${issuer === undefined ? 'UI_OIDC_CLIENT_ID' : 'UI_OIDC_ISSUER'}: the console signs in ` +
        'with the OIDC provider only when both are set',
    );
  }
  const scope = blank(env.UI_OIDC_SCOPE) ?? 'openid';
  if (!scope.split(/\s+/).includes('openid')) {
    fail("UI_OIDC_SCOPE must include 'openid'");
  }
  const resource = blank(env.UI_OIDC_RESOURCE);
  return {
    oidc: {
      issuer: httpUrl('UI_OIDC_ISSUER', issuer, fail),
      clientId,
      scope,
      ...(resource === undefined ? {} : { resource }),
    },
  };
}
