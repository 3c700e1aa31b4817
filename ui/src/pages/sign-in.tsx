import { useState } from 'preact/hooks';
import { sessionOf, startOidcSignIn, type OidcConfig, type Session } from '../auth';
import { ErrorMessage } from '../components';

export function SignInPage({
  oidc,
  notice,
  error,
  onSignIn,
}: {
  oidc: OidcConfig | null;
  notice?: string;
  error?: Error;
  onSignIn: (s: Session) => void;
}) {
  const [token, setToken] = useState('');
  const [problem, setProblem] = useState<string | undefined>(undefined);
  const [redirecting, setRedirecting] = useState<Error | boolean>(false);

  const submit = (e: Event) => {
    e.preventDefault();
    const session = sessionOf(token);
    if (typeof session === 'string') {
      setProblem(session);
      return;
    }
    setToken('');
    onSignIn(session);
  };
  const withProvider = () => {
    if (oidc === null) return;
    setRedirecting(true);
    startOidcSignIn(oidc).catch((err: unknown) =>
      setRedirecting(err instanceof Error ? err : new Error(String(err))),
    );
  };

  return (
    <main id="main" class="sign-in">
      <h1 tabIndex={-1}>Model Registry console</h1>
      <p>Review and decide approval requests, and browse the registry.</p>
      {notice !== undefined && (
        <p role="status" class="message info">
          {notice}
        </p>
      )}
      {error !== undefined && <ErrorMessage error={error} />}
      {oidc !== null && (
        <section aria-labelledby="sso">
          <h2 id="sso">Your organisation's sign-in</h2>
          <button type="button" onClick={withProvider} disabled={redirecting === true}>
            {redirecting === true ? 'Redirecting…' : 'Sign in with your organisation'}
          </button>
          {redirecting instanceof Error && <ErrorMessage error={redirecting} />}
        </section>
      )}
      <section aria-labelledby="paste">
        <h2 id="paste">{oidc === null ? 'Sign in with a token' : 'Or paste a token'}</h2>
        <form onSubmit={submit} noValidate>
          <label for="token">Access token</label>
          <textarea
            id="token"
            name="token"
            rows={4}
            autoComplete="off"
            spellcheck={false}
            value={token}
            aria-describedby="token-help"
            aria-invalid={problem !== undefined}
            onInput={(e) => {
              setToken((e.target as HTMLTextAreaElement).value);
              setProblem(undefined);
            }}
          />
          <p id="token-help" class="help">
            A bearer JWT for this service, e.g. from{' '}
            <code>npm run -s token -- --sub bob --tenant acme-corp --roles approver</code>. It is
            kept in this tab only.
          </p>
          {problem !== undefined && (
            <p role="alert" class="message error">
              {problem}
            </p>
          )}
          <button type="submit">Sign in</button>
        </form>
      </section>
    </main>
  );
}
