import { useState } from 'preact/hooks';
import {
  api,
  enc,
  get,
  type Approval,
  type HistoryEntry,
  type Manifest,
  type Version,
} from '../api';
import { hasRole, type Session } from '../auth';
import {
  ErrorMessage,
  FileTable,
  HistoryTable,
  KeyValues,
  Section,
  Show,
  Time,
  useLoad,
} from '../components';
import { href } from '../router';

interface VersionDetails {
  version: Version;
  manifest: Manifest | null;
  history: HistoryEntry[];
}

async function loadVersion(name: string, v: string): Promise<VersionDetails> {
  const base = `/models/${enc(name)}/versions/${enc(v)}`;
  const [version, history] = await Promise.all([
    get<Version>(base),
    get<{ transitions: HistoryEntry[] }>(`${base}/transitions`),
  ]);
  const manifest =
    version.artifact_id === null
      ? null
      : await get<Manifest>(`/artifacts/${enc(version.artifact_id)}`);
  return { version, manifest, history: history.transitions };
}

function Requested({ opened }: { opened: Approval | string }) {
  return (
    <div role="status" class="message outcome">
      {typeof opened === 'string' ? (
        <p>{opened}</p>
      ) : (
        <p>
          Requested: waiting for {opened.required_approvals} approval
          {opened.required_approvals === 1 ? '' : 's'}.{' '}
          <a href={href(['approvals', opened.id])}>See the request</a>
        </p>
      )}
    </div>
  );
}

function RequestProduction({
  version,
  onDone,
}: {
  version: Version;
  onDone: (opened: Approval | string) => void;
}) {
  const [comment, setComment] = useState('');
  const [busy, setBusy] = useState(false);
  const [problem, setProblem] = useState<Error | undefined>(undefined);
  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setProblem(undefined);
    try {
      const text = comment.trim();
      const res = await api<{ approval?: Approval; stage?: string }>(
        `/models/${enc(version.name)}/versions/${version.version}/stage`,
        {
          method: 'POST',
          body: text === '' ? { stage: 'production' } : { stage: 'production', comment: text },
        },
      );
      onDone(
        res.body.approval ?? `Version ${version.version} is in ${res.body.stage ?? 'production'}.`,
      );
    } catch (err) {
      setProblem(err instanceof Error ? err : new Error(String(err)));
    } finally {
      setBusy(false);
    }
  };
  return (
    <form onSubmit={(e) => void submit(e)}>
      <label for="request-comment">Comment</label>
      <textarea
        id="request-comment"
        rows={2}
        value={comment}
        onInput={(e) => setComment((e.target as HTMLTextAreaElement).value)}
      />
      {problem !== undefined && <ErrorMessage error={problem} />}
      <div class="actions">
        <button type="submit" disabled={busy}>
          Request production
        </button>
        {busy && (
          <span role="status" class="loading">
            <span class="spinner" aria-hidden="true" /> Requesting…
          </span>
        )}
      </div>
    </form>
  );
}

export function VersionPage({
  name,
  version,
  session,
}: {
  name: string;
  version: string;
  session: Session;
}) {
  const [loaded, reload] = useLoad(() => loadVersion(name, version), `${name}/${version}`);
  // Kept here: the reload after the request re-renders the sections below.
  const [opened, setOpened] = useState<Approval | string | undefined>(undefined);
  return (
    <>
      <h1 tabIndex={-1}>
        {name} version {version}
      </h1>
      <p>
        <a href={href(['models', name])}>All versions of {name}</a>
      </p>
      <Show loaded={loaded} what="the version">
        {({ version: v, manifest, history }) => (
          <>
            <p class="lead">
              Stage <strong>{v.stage}</strong>, registered by {v.created_by ?? 'unknown'}{' '}
              <Time iso={v.created_at} />.
            </p>
            {v.description !== '' && <p>{v.description}</p>}
            {hasRole(session, 'editor', 'admin') &&
              (opened !== undefined || v.stage !== 'production') && (
                <Section title="Request production">
                  {opened !== undefined ? (
                    <Requested opened={opened} />
                  ) : (
                    <RequestProduction
                      version={v}
                      onDone={(o) => {
                        setOpened(o);
                        reload();
                      }}
                    />
                  )}
                </Section>
              )}
            <Section title="Metrics">
              <KeyValues caption="Metrics" values={v.metrics} />
            </Section>
            <Section title="Parameters">
              <KeyValues caption="Parameters" values={v.parameters} />
            </Section>
            <Section title="Tags">
              <KeyValues caption="Tags" values={v.tags} />
            </Section>
            <Section title="Files">
              {manifest !== null ? <FileTable manifest={manifest} /> : <p>No artifact.</p>}
            </Section>
            <Section title="History">
              <HistoryTable entries={history} />
            </Section>
          </>
        )}
      </Show>
    </>
  );
}
