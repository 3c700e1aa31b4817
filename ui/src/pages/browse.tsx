import { useState } from 'preact/hooks';
import { enc, get, type Model, type ModelSummary } from '../api';
import { formatNumber, Show, Time, useLoad } from '../components';
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
