import { render } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { get, useToken, type Approval } from './api';
import {
  clearSession,
  finishOidcSignIn,
  hasRole,
  storedSession,
  storeSession,
  type OidcConfig,
  type Session,
} from './auth';
import { ErrorMessage, Loading } from './components';
import { AuditPage } from './pages/audit';
import { ModelPage, ModelsPage } from './pages/browse';
import { ComparePage } from './pages/compare';
import { InboxPage } from './pages/inbox';
import { ReviewPage } from './pages/review';
import { SignInPage } from './pages/sign-in';
import { VersionPage } from './pages/version';
import { href, useRoute, type Route } from './router';

interface ConsoleConfig {
  api_base: string;
  oidc: OidcConfig | null;
}

function View({
  route,
  session,
  onInbox,
}: {
  route: Route;
  session: Session;
  onInbox: (n: number) => void;
}) {
  const [first, second, third, fourth] = route.path;
  if (first === 'approvals' && second !== undefined)
    return <ReviewPage id={second} session={session} />;
  if (first === 'models' && second === undefined) return <ModelsPage route={route} />;
  if (first === 'models' && third === 'compare') return <ComparePage name={second} route={route} />;
  if (first === 'models' && third === 'versions' && fourth !== undefined) {
    return <VersionPage name={second} version={fourth} session={session} />;
  }
  if (first === 'models' && second !== undefined) return <ModelPage name={second} />;
  if (first === 'audit') return <AuditPage session={session} />;
  return <InboxPage onCount={onInbox} />;
}

function Shell({ session, onSignOut }: { session: Session; onSignOut: () => void }) {
  const route = useRoute();
  const [inbox, setInbox] = useState<number | undefined>(undefined);
  const main = useRef<HTMLElement>(null);
  // The badge: how many requests await this user, refreshed on every view.
  useEffect(() => {
    get<{ approvals: Approval[] }>('/approvals?awaiting_me=true&max_results=100').then(
      (r) => setInbox(r.approvals.length),
      () => setInbox(undefined),
    );
  }, [route]);
  // A new view: focus its heading, so that keyboard and screen reader users start there.
  useEffect(() => {
    main.current?.querySelector<HTMLElement>('h1')?.focus();
  }, [route.path.join('/')]);
  const section = route.path[0] ?? 'inbox';
  const current = (s: string) => (section === s ? 'page' : undefined);
  return (
    <>
      <a
        class="skip"
        href="#main"
        onClick={(e) => (
          e.preventDefault(),
          main.current?.querySelector<HTMLElement>('h1')?.focus()
        )}
      >
        Skip to content
      </a>
      <header class="top">
        <p class="brand">Model Registry</p>
        <nav aria-label="Main">
          <ul>
            <li>
              <a
                href={href(['inbox'])}
                aria-current={section === 'inbox' || section === 'approvals' ? 'page' : undefined}
              >
                Inbox{' '}
                {inbox !== undefined && (
                  <span class="badge" aria-label={`${inbox} awaiting you`}>
                    {inbox}
                  </span>
                )}
              </a>
            </li>
            <li>
              <a href={href(['models'])} aria-current={current('models')}>
                Models
              </a>
            </li>
            {hasRole(session, 'admin') && (
              <li>
                <a href={href(['audit'])} aria-current={current('audit')}>
                  Audit
                </a>
              </li>
            )}
          </ul>
        </nav>
        <div class="who">
          <span>
            {session.sub} · {session.tenant} · {session.roles.join(', ') || 'no role'}
          </span>
          <button type="button" class="secondary" onClick={onSignOut}>
            Sign out
          </button>
        </div>
      </header>
      <main id="main" ref={main}>
        <View route={route} session={session} onInbox={setInbox} />
      </main>
    </>
  );
}

function App({ config }: { config: ConsoleConfig }) {
  const [session, setSession] = useState<Session | undefined>(storedSession);
  const [notice, setNotice] = useState<string | undefined>(undefined);
  const [oidcState, setOidcState] = useState<'idle' | 'finishing' | Error>('idle');

  const signIn = (s: Session) => {
    storeSession(s);
    setNotice(undefined);
    setSession(s);
  };
  const signOut = (message?: string) => {
    clearSession();
    setSession(undefined);
    setNotice(message);
  };
  // A 401 from any call: the token expired or was revoked; back to sign-in, with the reason.
  useToken(session?.token, (message) => signOut(`You were signed out: ${message}. Sign in again.`));

  useEffect(() => {
    if (
      config.oidc === null ||
      (!location.search.includes('code=') && !location.search.includes('error='))
    )
      return;
    setOidcState('finishing');
    finishOidcSignIn(config.oidc).then(
      (s) => {
        setOidcState('idle');
        if (s !== undefined) signIn(s);
      },
      (e: unknown) => setOidcState(e instanceof Error ? e : new Error(String(e))),
    );
  }, []);
  // A token that expires while the page is open: sign-in again at its `exp`.
  useEffect(() => {
    if (session?.exp === undefined) return;
    const timer = setTimeout(
      () => signOut('Your session has expired. Sign in again.'),
      Math.max(0, session.exp * 1000 - Date.now()),
    );
    return () => clearTimeout(timer);
  }, [session]);

  if (oidcState === 'finishing') return <Loading what="your sign-in" />;
  if (session === undefined) {
    return (
      <SignInPage
        oidc={config.oidc}
        notice={notice}
        error={oidcState instanceof Error ? oidcState : undefined}
        onSignIn={signIn}
      />
    );
  }
  return <Shell session={session} onSignOut={() => signOut('You signed out.')} />;
}

async function start(): Promise<void> {
  const root = document.getElementById('app')!;
  try {
    const res = await fetch('/ui/config.json');
    if (!res.ok)
      throw new Error(`The console's configuration could not be read (HTTP ${res.status}).`);
    const config = (await res.json()) as ConsoleConfig;
    root.textContent = '';
    render(<App config={config} />, root);
  } catch (e) {
    root.textContent = '';
    render(<ErrorMessage error={e instanceof Error ? e : new Error(String(e))} />, root);
  }
}

void start();
