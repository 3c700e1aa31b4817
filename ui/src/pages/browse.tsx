import { useState } from 'preact/hooks';
import {
  api,
  enc,
  get,
  type Approval,
  type Comparison,
  type HistoryEntry,
  type Manifest,
  type Model,
  type ModelSummary,
  type Version,
} from '../api';
import { hasRole, type Session } from '../auth';
import {
  ErrorMessage,
  FileTable,
  formatNumber,
  HistoryTable,
  KeyValues,
  Section,
  Show,
  Time,
  useLoad,
} from '../components';
import { href, navigate, type Route } from '../router';

const PAGE_SIZE = 20;

/** A name search as MLflow's LIKE: the text anywhere in the name, its `%`, `_`, `\` literal. */
const nameLike = (q: string): string => `%${q.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;

const versionLink = (name: string, v: number | null) =>
  v === null ? '—' : <a href={href(['models', name, 'versions', v])}>v{v}</a>;

export function ModelsPage({ route }: { route: Route }) {
  const q = route.query.get('q') ?? '';
  const token = route.query.get('page') ?? '';
  // The tokens of the pages before this one, for "Previous page" ('-': the first page).
  const back = (route.query.get('back') ?? '').split(',').filter((t) => t !== '');
  const [search, setSearch] = useState(q);
  const params = new URLSearchParams({ max_results: String(PAGE_SIZE) });
  if (q !== '') params.set('name_like', nameLike(q));
  if (token !== '') params.set('page_token', token);
  const [loaded] = useLoad(
    () => get<{ models: ModelSummary[]; next_page_token?: string }>(`/models?${params.toString()}`),
    params.toString(),
  );
  const go = (page: string, newBack: string[]) => {
    const query: Record<string, string> = {};
    if (q !== '') query['q'] = q;
    if (page !== '') query['page'] = page;
    if (newBack.length > 0) query['back'] = newBack.join(',');
    navigate(href(['models'], query));
  };
  return (
    <>
      <h1 tabIndex={-1}>Models</h1>
      <form
        role="search"
        class="search"
        onSubmit={(e) => {
          e.preventDefault();
          navigate(href(['models'], search.trim() === '' ? {} : { q: search.trim() }));
        }}
      >
        <label for="search">Search by name</label>
        <input
          id="search"
          type="search"
          value={search}
          onInput={(e) => setSearch((e.target as HTMLInputElement).value)}
        />
        <button type="submit">Search</button>
      </form>
      <Show loaded={loaded} what="models">
        {({ models, next_page_token }) => (
          <>
            {models.length === 0 ? (
              <p>{q === '' ? 'No models yet.' : `No model's name contains “${q}”.`}</p>
            ) : (
              <div class="scroll">
                <table>
                  <caption>Models{q !== '' && ` whose name contains “${q}”`}</caption>
                  <thead>
                    <tr>
                      <th scope="col">Name</th>
                      <th scope="col">Latest</th>
                      <th scope="col">Staging</th>
                      <th scope="col">Production</th>
                      <th scope="col">Updated</th>
                    </tr>
                  </thead>
                  <tbody>
                    {models.map((m) => (
                      <tr key={m.name}>
                        <th scope="row">
                          <a href={href(['models', m.name])}>{m.name}</a>
                        </th>
                        <td>{versionLink(m.name, m.latest_version)}</td>
                        <td>{versionLink(m.name, m.staging_version)}</td>
                        <td>{versionLink(m.name, m.production_version)}</td>
                        <td>
                          <Time iso={m.last_updated} />
                        </td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </div>
            )}
            <nav aria-label="Pages" class="pager">
              {back.length > 0 && (
                <button
                  type="button"
                  class="secondary"
                  onClick={() => go(back[back.length - 1].replace(/^-$/, ''), back.slice(0, -1))}
                >
                  Previous page
                </button>
              )}
              {next_page_token !== undefined && (
                <button
                  type="button"
                  class="secondary"
                  onClick={() => go(next_page_token, [...back, token === '' ? '-' : token])}
                >
                  Next page
                </button>
              )}
            </nav>
          </>
        )}
      </Show>
    </>
  );
}

export function ModelPage({ name }: { name: string }) {
  const [loaded] = useLoad(() => get<Model>(`/models/${enc(name)}`), name);
  const [chosen, setChosen] = useState<number[]>([]);
  const [problem, setProblem] = useState<string | undefined>(undefined);
  const toggle = (v: number, on: boolean) =>
    setChosen((c) => (on ? [...c, v] : c.filter((x) => x !== v)).sort((a, b) => a - b));
  return (
    <>
      <h1 tabIndex={-1}>{name}</h1>
      <Show loaded={loaded} what="the model">
        {(m) => (
          <>
            {m.description !== '' && <p>{m.description}</p>}
            <p>
              Production: {versionLink(m.name, m.production_version)} · Staging:{' '}
              {versionLink(m.name, m.staging_version)} · Latest:{' '}
              {versionLink(m.name, m.latest_version)}
            </p>
            <form
              onSubmit={(e) => {
                e.preventDefault();
                if (chosen.length < 2 || chosen.length > 10) {
                  setProblem('Choose 2 to 10 versions to compare.');
                  return;
                }
                navigate(href(['models', name, 'compare'], { versions: chosen.join(',') }));
              }}
            >
              <div class="scroll">
                <table>
                  <caption>Versions of {m.name}</caption>
                  <thead>
                    <tr>
                      <th scope="col">Compare</th>
                      <th scope="col">Version</th>
                      <th scope="col">Stage</th>
                      <th scope="col">Metrics</th>
                      <th scope="col">By</th>
                      <th scope="col">Created</th>
                    </tr>
                  </thead>
                  <tbody>
                    {m.versions.map((v) => (
                      <tr key={v.version}>
                        <td>
                          <input
                            type="checkbox"
                            id={`cmp-${v.version}`}
                            aria-label={`Compare version ${v.version}`}
                            checked={chosen.includes(v.version)}
                            onChange={(e) =>
                              toggle(v.version, (e.target as HTMLInputElement).checked)
                            }
                          />
                        </td>
                        <th scope="row">{versionLink(m.name, v.version)}</th>
                        <td>{v.stage}</td>
                        <td>
                          {Object.entries(v.metrics)
                            .map(([k, x]) => `${k} ${formatNumber(x)}`)
                            .join(', ')}
                        </td>
                        <td>{v.created_by ?? ''}</td>
                        <td>
                          <Time iso={v.created_at} />
                        </td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </div>
              {problem !== undefined && (
                <p role="alert" class="message error">
                  {problem}
                </p>
              )}
              <button type="submit">Compare selected versions</button>
            </form>
          </>
        )}
      </Show>
    </>
  );
}

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

export function ComparePage({ name, route }: { name: string; route: Route }) {
  const versions = route.query.get('versions') ?? '';
  const [loaded] = useLoad(
    () => get<Comparison>(`/models/${enc(name)}/compare?versions=${enc(versions)}`),
    `${name}?${versions}`,
  );
  return (
    <>
      <h1 tabIndex={-1}>Compare versions of {name}</h1>
      <p>
        <a href={href(['models', name])}>All versions of {name}</a>
      </p>
      <Show loaded={loaded} what="the comparison">
        {(c) => (
          <>
            <p class="message info" role="status">
              <strong>Recommendation:</strong> {c.recommendation}
            </p>
            <div class="scroll">
              <table>
                <caption>Metrics by version; the best of each is marked</caption>
                <thead>
                  <tr>
                    <th scope="col">Metric</th>
                    <th scope="col">Better when</th>
                    {c.comparison.map((v) => (
                      <th scope="col" key={v.version}>
                        v{v.version} ({v.stage})
                      </th>
                    ))}
                  </tr>
                </thead>
                <tbody>
                  {c.metrics.map((m) => (
                    <tr key={m.name}>
                      <th scope="row">{m.name}</th>
                      <td>{m.direction === 'higher_is_better' ? 'higher' : 'lower'}</td>
                      {c.comparison.map((v) => {
                        const best = m.compared && m.best_versions.includes(v.version);
                        return (
                          <td key={v.version} class={best ? 'verdict better' : undefined}>
                            {formatNumber(v.metrics[m.name])}
                            {best && ' ★ best'}
                          </td>
                        );
                      })}
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          </>
        )}
      </Show>
    </>
  );
}
