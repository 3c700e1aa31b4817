import { useState } from 'preact/hooks';
import {
  api,
  ApiError,
  enc,
  get,
  type Approval,
  type Comparison,
  type HistoryEntry,
  type Manifest,
  type Model,
  type Version,
} from '../api';
import { hasRole, type Session } from '../auth';
import {
  ErrorMessage,
  FileTable,
  GateList,
  HistoryTable,
  KeyValues,
  MetricDeltas,
  Section,
  Show,
  Time,
  useLoad,
} from '../components';
import { href } from '../router';

interface Evidence {
  approval: Approval;
  version: Version;
  production: number | null;
  comparison: Comparison | null;
  manifest: Manifest | null;
  history: HistoryEntry[];
}

async function loadEvidence(id: string): Promise<Evidence> {
  const approval = await get<Approval>(`/approvals/${enc(id)}`);
  const m = `/models/${enc(approval.model)}`;
  const [model, version, history] = await Promise.all([
    get<Model>(m),
    get<Version>(`${m}/versions/${approval.version}`),
    get<{ transitions: HistoryEntry[] }>(`${m}/versions/${approval.version}/transitions`),
  ]);
  const production = model.production_version;
  const [comparison, manifest] = await Promise.all([
    production !== null && production !== approval.version
      ? get<Comparison>(`${m}/compare?versions=${production},${approval.version}`)
      : Promise.resolve(null),
    version.artifact_id !== null
      ? get<Manifest>(`/artifacts/${enc(version.artifact_id)}`)
      : Promise.resolve(null),
  ]);
  return { approval, version, production, comparison, manifest, history: history.transitions };
}

/** Why this user may not decide this request, or undefined if they may. */
function whyNot(a: Approval, s: Session): string | undefined {
  if (a.status !== 'pending')
    return `This request is ${a.status}: there is nothing left to decide.`;
  if (a.requested_by === s.sub && a.requested_by_tenant === s.tenant) {
    return 'You made this request: another person must decide it (four eyes).';
  }
  const roles = a.approver_roles ?? ['approver', 'admin'];
  if (!hasRole(s, ...roles)) {
    return `Deciding needs the role ${roles.join(' or ')}; you have ${s.roles.join(', ') || 'none'}.`;
  }
  if (a.approvals.some((v) => v.by === s.sub && v.by_tenant === s.tenant)) {
    return `You have already approved this request; it waits for ${a.required_approvals - a.approvals.length} more vote(s).`;
  }
  return undefined;
}

function outcomeOf(a: Approval, v: Version | null): string {
  if (a.status === 'rejected')
    return `Rejected: version ${a.version} of ${a.model} stays where it was.`;
  if (a.status === 'pending') {
    const left = a.required_approvals - a.approvals.length;
    return `Your vote is counted: still waiting for ${left} more vote${left === 1 ? '' : 's'}.`;
  }
  if (a.status === 'approved' && a.apply_state === 'applied') {
    return `Approved and applied: version ${a.version} of ${a.model} is now in ${v?.stage ?? a.target_stage}.`;
  }
  if (a.status === 'approved' && a.apply_error !== null) {
    return `Approved, but not applied: ${a.apply_error.message}`;
  }
  if (a.status === 'approved') return 'Approved: the transition is being applied.';
  return `The request is ${a.status}.`;
}

function Decision({
  approval,
  session,
  onDone,
}: {
  approval: Approval;
  session: Session;
  onDone: (outcome: string) => void;
}) {
  const [comment, setComment] = useState('');
  const [busy, setBusy] = useState<'approve' | 'reject' | undefined>(undefined);
  const [problem, setProblem] = useState<ApiError | Error | undefined>(undefined);
  const reason = whyNot(approval, session);

  if (reason !== undefined) {
    return (
      <p class="message info" id="why-not">
        {reason}
      </p>
    );
  }
  const decide = async (what: 'approve' | 'reject') => {
    setProblem(undefined);
    const text = comment.trim();
    if (what === 'reject' && text === '') {
      setProblem(new Error('A comment is required to reject: say why.'));
      document.getElementById('comment')?.focus();
      return;
    }
    setBusy(what);
    try {
      const { body } = await api<{ approval: Approval; version: Version | null }>(
        `/approvals/${enc(approval.id)}/${what}`,
        { method: 'POST', body: text === '' ? {} : { comment: text } },
      );
      onDone(outcomeOf(body.approval, body.version));
    } catch (e) {
      setProblem(e instanceof Error ? e : new Error(String(e)));
    } finally {
      setBusy(undefined);
    }
  };
  return (
    <form class="decision" onSubmit={(e) => e.preventDefault()} noValidate>
      <label for="comment">Comment</label>
      <textarea
        id="comment"
        rows={3}
        value={comment}
        aria-describedby="comment-help"
        onInput={(e) => setComment((e.target as HTMLTextAreaElement).value)}
      />
      <p id="comment-help" class="help">
        Optional to approve, required to reject.
      </p>
      {problem !== undefined && <ErrorMessage error={problem} />}
      <div class="actions">
        <button type="button" disabled={busy !== undefined} onClick={() => void decide('approve')}>
          Approve
        </button>
        <button
          type="button"
          class="danger"
          disabled={busy !== undefined}
          onClick={() => void decide('reject')}
        >
          Reject
        </button>
        {busy !== undefined && (
          <span role="status" class="loading">
            <span class="spinner" aria-hidden="true" />{' '}
            {busy === 'approve' ? 'Approving' : 'Rejecting'}…
          </span>
        )}
      </div>
    </form>
  );
}

export function ReviewPage({ id, session }: { id: string; session: Session }) {
  const [loaded, reload] = useLoad(() => loadEvidence(id), id);
  const [outcome, setOutcome] = useState<string | undefined>(undefined);
  return (
    <>
      <h1 tabIndex={-1}>Review request</h1>
      {outcome !== undefined && (
        <div role="status" class="message outcome">
          <p>{outcome}</p>
          <p>
            <a href={href(['inbox'])}>Back to pending approvals</a>
          </p>
        </div>
      )}
      <Show loaded={loaded} what="the request and its evidence">
        {(e) => {
          const a = e.approval;
          return (
            <>
              <p class="lead">
                <strong>{a.kind}</strong> of{' '}
                <a href={href(['models', a.model, 'versions', a.version])}>
                  {a.model} version {a.version}
                </a>{' '}
                to {a.target_stage}; status <strong>{a.status}</strong>
                {a.expires_at !== null && a.status === 'pending' && (
                  <>
                    , expires <Time iso={a.expires_at} />
                  </>
                )}
                .
              </p>
              <Section title="Request">
                <dl class="facts">
                  <dt>Requested by</dt>
                  <dd>
                    {a.requested_by} ({a.requested_by_tenant}), <Time iso={a.requested_at} />
                  </dd>
                  <dt>Comment</dt>
                  <dd>{a.comment ?? 'none'}</dd>
                  <dt>Votes</dt>
                  <dd>
                    {a.approvals.length} of {a.required_approvals} required
                    {a.approvals.length > 0 && (
                      <ul>
                        {a.approvals.map((v) => (
                          <li key={`${v.by_tenant}/${v.by}`}>
                            {v.by} approved <Time iso={v.at} />
                            {v.comment !== null && `: ${v.comment}`}
                          </li>
                        ))}
                      </ul>
                    )}
                  </dd>
                  {a.decided_by !== null && (
                    <>
                      <dt>Decided by</dt>
                      <dd>
                        {a.decided_by}
                        {a.decision_comment !== null && `: ${a.decision_comment}`}
                      </dd>
                    </>
                  )}
                  {a.artifact_sha256 !== null && (
                    <>
                      <dt>Model file SHA-256 at the request</dt>
                      <dd>
                        <code class="hash">{a.artifact_sha256}</code>
                      </dd>
                    </>
                  )}
                </dl>
              </Section>
              <Section title="Metrics against production">
                {e.comparison !== null && e.production !== null ? (
                  <>
                    <MetricDeltas
                      comparison={e.comparison}
                      base={e.production}
                      candidate={a.version}
                    />
                    <p>
                      <strong>Recommendation:</strong> {e.comparison.recommendation}
                    </p>
                  </>
                ) : (
                  <>
                    <p>
                      {e.production === a.version
                        ? 'This version is the one in production.'
                        : 'No version is in production: nothing to compare against.'}
                    </p>
                    <KeyValues caption="Metrics" values={e.version.metrics} />
                  </>
                )}
              </Section>
              <Section title="Gates">
                <GateList gates={a.gates} />
              </Section>
              <Section title="Decision">
                {outcome === undefined ? (
                  <Decision
                    approval={a}
                    session={session}
                    onDone={(o) => {
                      setOutcome(o);
                      reload();
                    }}
                  />
                ) : (
                  <p>Decided: see above; the evidence is as it is now.</p>
                )}
              </Section>
              <Section title="Artifact">
                {e.manifest !== null ? <FileTable manifest={e.manifest} /> : <p>No artifact.</p>}
              </Section>
              <Section title="History of this version">
                <HistoryTable entries={e.history} />
              </Section>
            </>
          );
        }}
      </Show>
    </>
  );
}
