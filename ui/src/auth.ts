// The signed-in user's token: kept in sessionStorage only (gone with the tab), never in a URL,
// never logged. Its claims are read (not verified: the API verifies) to show who is signed in
// and which actions to offer.

const TOKEN_KEY = 'registry.token';
const PKCE_KEY = 'registry.oidc';

export interface Session {
  token: string;
  sub: string;
  tenant: string;
  roles: string[];
  /** Seconds since the epoch, if the token says. */
  exp?: number;
}

function decodeClaims(token: string): Record<string, unknown> | undefined {
  const part = token.split('.')[1];
  if (part === undefined) return undefined;
  try {
    const json = atob(part.replace(/-/g, '+').replace(/_/g, '/'));
    const bytes = Uint8Array.from(json, (c) => c.charCodeAt(0));
    const claims: unknown = JSON.parse(new TextDecoder().decode(bytes));
    return typeof claims === 'object' && claims !== null
      ? (claims as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

/** The session a token opens, or the reason it cannot be one. */
export function sessionOf(token: string): Session | string {
  const claims = decodeClaims(token.trim());
  if (claims === undefined) return 'This is not a JWT: paste the whole access token.';
  const { sub, tenant_id: tenant, roles, exp } = claims;
  if (typeof sub !== 'string' || typeof tenant !== 'string') {
    return 'The token has no sub or tenant_id claim.';
  }
  if (typeof exp === 'number' && exp * 1000 <= Date.now()) return 'The token has expired.';
  return {
    token: token.trim(),
    sub,
    tenant,
    roles: Array.isArray(roles) ? roles.filter((r): r is string => typeof r === 'string') : [],
    exp: typeof exp === 'number' ? exp : undefined,
  };
}

export function storedSession(): Session | undefined {
  const token = sessionStorage.getItem(TOKEN_KEY);
  if (token === null) return undefined;
  const session = sessionOf(token);
  if (typeof session === 'string') {
    sessionStorage.removeItem(TOKEN_KEY);
    return undefined;
  }
  return session;
}

export function storeSession(session: Session): void {
  sessionStorage.setItem(TOKEN_KEY, session.token);
}

export function clearSession(): void {
  sessionStorage.removeItem(TOKEN_KEY);
  sessionStorage.removeItem(PKCE_KEY);
}

export const hasRole = (session: Session, ...roles: string[]): boolean =>
  session.roles.some((r) => roles.includes(r));

// --- OIDC: authorization code with PKCE (RFC 7636), a public client -------------------------

export interface OidcConfig {
  issuer: string;
  client_id: string;
  scope: string;
  resource: string | null;
}

interface Discovery {
  authorization_endpoint: string;
  token_endpoint: string;
}

function base64url(bytes: Uint8Array): string {
  let s = '';
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

const randomString = (): string => base64url(crypto.getRandomValues(new Uint8Array(32)));

async function discover(oidc: OidcConfig): Promise<Discovery> {
  const url = `${oidc.issuer}/.well-known/openid-configuration`;
  let res: Response;
  try {
    res = await fetch(url);
  } catch {
    throw new Error(`The identity provider (${oidc.issuer}) could not be reached.`);
  }
  if (!res.ok) throw new Error(`The identity provider answered ${res.status} for ${url}.`);
  return (await res.json()) as Discovery;
}

/** The page's address without query or fragment: the redirect URI registered at the provider. */
export const redirectUri = (): string => `${location.origin}/ui/`;

/** Goes to the provider's sign-in page; it comes back to /ui/?code=…&state=…. */
export async function startOidcSignIn(oidc: OidcConfig): Promise<void> {
  const discovery = await discover(oidc);
  const verifier = randomString();
  const state = randomString();
  const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(verifier));
  sessionStorage.setItem(PKCE_KEY, JSON.stringify({ verifier, state }));
  const params = new URLSearchParams({
    response_type: 'code',
    client_id: oidc.client_id,
    redirect_uri: redirectUri(),
    scope: oidc.scope,
    state,
    code_challenge: base64url(new Uint8Array(digest)),
    code_challenge_method: 'S256',
  });
  if (oidc.resource !== null) params.set('resource', oidc.resource);
  location.assign(`${discovery.authorization_endpoint}?${params.toString()}`);
}

/**
 * Back from the provider: exchanges the code for the access token (with the PKCE verifier) and
 * removes code and state from the address bar. Undefined when the page was not opened by a
 * redirect from the provider.
 */
export async function finishOidcSignIn(oidc: OidcConfig): Promise<Session | undefined> {
  const query = new URLSearchParams(location.search);
  const code = query.get('code');
  const error = query.get('error');
  if (code === null && error === null) return undefined;
  history.replaceState(null, '', '/ui/#/');
  const pending = sessionStorage.getItem(PKCE_KEY);
  sessionStorage.removeItem(PKCE_KEY);
  if (error !== null) {
    throw new Error(
      `The identity provider refused the sign-in: ${query.get('error_description') ?? error}`,
    );
  }
  const { verifier, state } = (pending === null ? {} : JSON.parse(pending)) as {
    verifier?: string;
    state?: string;
  };
  if (verifier === undefined || state !== query.get('state')) {
    throw new Error('This sign-in was not started from this tab: sign in again.');
  }
  const discovery = await discover(oidc);
  const body = new URLSearchParams({
    grant_type: 'authorization_code',
    code: code ?? '',
    redirect_uri: redirectUri(),
    client_id: oidc.client_id,
    code_verifier: verifier,
  });
  if (oidc.resource !== null) body.set('resource', oidc.resource);
  let res: Response;
  try {
    res = await fetch(discovery.token_endpoint, { method: 'POST', body });
  } catch {
    throw new Error(`The identity provider (${oidc.issuer}) could not be reached.`);
  }
  const answer = (await res.json().catch(() => ({}))) as {
    access_token?: string;
    error?: string;
    error_description?: string;
  };
  if (!res.ok || answer.access_token === undefined) {
    throw new Error(
      `The identity provider did not issue a token: ${answer.error_description ?? answer.error ?? `HTTP ${res.status}`}`,
    );
  }
  const session = sessionOf(answer.access_token);
  if (typeof session === 'string') {
    throw new Error(`The identity provider's access token cannot be used here: ${session}`);
  }
  return session;
}
