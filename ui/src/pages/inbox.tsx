import { useEffect } from 'preact/hooks';
import { get, type Approval } from '../api';
import { gateSummary, Show, Time, useLoad } from '../components';
import { href } from '../router';

/** The pending requests the signed-in user may still vote on. */
export function InboxPage({ onCount }: { onCount: (n: number) => void }) {
  const [loaded] = useLoad(
    () =>
      get<{ approvals: Approval[]; next_page_token?: string }>(
        '/approvals?awaiting_me=true&max_results=100',
      ),
    'inbox',
  );
  useEffect(() => {
    if (loaded.state === 'done') onCount(loaded.value.approvals.length);
  }, [loaded]);
  const count = loaded.state === 'done' ? loaded.value.approvals.length : undefined;
  return (
    <>
      <div class="title">
        <h1 tabIndex={-1}>Pending approvals</h1>
        {count !== undefined && (
          <span class="badge" role="status" aria-label={`${count} awaiting your vote`}>
            {count}
          </span>
        )}
      </div>
      <Show loaded={loaded} what="the requests awaiting you">
        {({ approvals }) =>
          approvals.length === 0 ? (
            <p>Nothing awaits your vote.</p>
          ) : (
            <div class="scroll">
              <table class="inbox">
                <caption>Requests you may vote on, newest first</caption>
                <thead>
                  <tr>
                    <th scope="col">Model</th>
                    <th scope="col">Version</th>
                    <th scope="col">Kind</th>
                    <th scope="col">Requester</th>
                    <th scope="col">Age</th>
                    <th scope="col">Expires</th>
                    <th scope="col">Gates</th>
                    <th scope="col">Votes</th>
                    <th scope="col">
                      <span class="visually-hidden">Action</span>
                    </th>
                  </tr>
                </thead>
                <tbody>
                  {approvals.map((a) => (
                    <tr key={a.id}>
                      <td data-label="Model">{a.model}</td>
                      <td data-label="Version">{a.version}</td>
                      <td data-label="Kind">{a.kind}</td>
                      <td data-label="Requester">{a.requested_by}</td>
                      <td data-label="Age">
                        <Time iso={a.requested_at} />
                      </td>
                      <td data-label="Expires">
                        <Time iso={a.expires_at} />
                      </td>
                      <td
                        data-label="Gates"
                        class={a.gates.some((g) => !g.passed) ? 'bad' : undefined}
                      >
                        {gateSummary(a.gates)}
                      </td>
                      <td data-label="Votes">
                        {a.approvals.length} of {a.required_approvals}
                      </td>
                      <td>
                        <a
                          class="button"
                          href={href(['approvals', a.id])}
                          aria-describedby={`row-${a.id}`}
                        >
                          Review
                        </a>
                        <span id={`row-${a.id}`} class="visually-hidden">
                          {a.kind} of {a.model} version {a.version}
                        </span>
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )
        }
      </Show>
    </>
  );
}
