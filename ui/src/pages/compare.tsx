import { enc, get, type Comparison } from '../api';
import { formatNumber, Show, useLoad } from '../components';
import { href, type Route } from '../router';

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
