import { get } from '../api';
import { hasRole, type Session } from '../auth';
import { Show, useLoad } from '../components';

interface Verification {
  ok: boolean;
  entries?: number;
  head?: string | null;
  first_bad?: { id: number | string; reason: string };
}

/** The audit chain's verification (admins): the API's answer as it gives it. */
export function AuditPage({ session }: { session: Session }) {
  const [loaded, reload] = useLoad(() => get<Verification>('/audit/verify'), 'audit');
  if (!hasRole(session, 'admin')) {
    return (
      <>
        <h1 tabIndex={-1}>Audit chain</h1>
        <p>Only admins verify the audit chain.</p>
      </>
    );
  }
  return (
    <>
      <h1 tabIndex={-1}>Audit chain</h1>
      <Show loaded={loaded} what="the audit chain's verification">
        {(v) =>
          v.ok ? (
            <p role="status" class="message good">
              Verified: the chain is intact{v.entries !== undefined && ` over ${v.entries} entries`}
              {v.head !== undefined && v.head !== null && (
                <>
                  , head <code class="hash">{v.head}</code>
                </>
              )}
              .
            </p>
          ) : (
            <p role="alert" class="message error">
              The chain is broken
              {v.first_bad !== undefined && ` at entry ${v.first_bad.id}: ${v.first_bad.reason}`}.
            </p>
          )
        }
      </Show>
      <button type="button" class="secondary" onClick={reload}>
        Verify again
      </button>
    </>
  );
}
