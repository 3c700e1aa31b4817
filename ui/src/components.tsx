import type { ComponentChildren } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { ApiError, type Comparison, type Gate, type HistoryEntry, type Manifest } from './api';

// --- Fetching: every fetch shows a loading state and, on failure, the API's message -----------

export type Loaded<T> =
  { state: 'loading' } | { state: 'error'; error: ApiError | Error } | { state: 'done'; value: T };

/** Runs `load` when `key` changes (and on `reload()`); the latest answer wins. */
export function useLoad<T>(load: () => Promise<T>, key: string): [Loaded<T>, () => void] {
  const [result, setResult] = useState<Loaded<T>>({ state: 'loading' });
  const [round, setRound] = useState(0);
  useEffect(() => {
    let current = true;
    setResult({ state: 'loading' });
    load().then(
      (value) => current && setResult({ state: 'done', value }),
      (error: unknown) =>
        current &&
        setResult({
          state: 'error',
          error: error instanceof Error ? error : new Error(String(error)),
        }),
    );
    return () => {
      current = false;
    };
  }, [key, round]);
  return [result, () => setRound((r) => r + 1)];
}

export function Loading({ what }: { what: string }) {
  return (
    <p role="status" class="loading">
      <span class="spinner" aria-hidden="true" /> Loading {what}…
    </p>
  );
}

export function ErrorMessage({ error }: { error: ApiError | Error }) {
  const code = error instanceof ApiError ? error.code : undefined;
  return (
    <div role="alert" class="message error">
      <p>
        {error.message}
        {code !== undefined && <span class="code"> ({code})</span>}
      </p>
      {error instanceof ApiError &&
        Array.isArray((error.details as { gates?: unknown })?.gates) && (
          <GateList gates={(error.details as { gates: Gate[] }).gates} />
        )}
    </div>
  );
}

/** Renders the loading state, the error, or `children(value)`. */
export function Show<T>({
  loaded,
  what,
  children,
}: {
  loaded: Loaded<T>;
  what: string;
  children: (value: T) => ComponentChildren;
}) {
  if (loaded.state === 'loading') return <Loading what={what} />;
  if (loaded.state === 'error') return <ErrorMessage error={loaded.error} />;
  return <>{children(loaded.value)}</>;
}

// --- Formatting ---------------------------------------------------------------------------------

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(1)} ${units[i]}`;
}

function span(ms: number): string {
  const s = Math.round(Math.abs(ms) / 1000);
  if (s < 60) return `${s} s`;
  const m = Math.round(s / 60);
  if (m < 60) return `${m} min`;
  const h = Math.round(m / 60);
  if (h < 48) return `${h} h`;
  return `${Math.round(h / 24)} days`;
}

/** "5 min ago", "in 3 days". */
export function relative(iso: string): string {
  const ms = Date.parse(iso) - Date.now();
  return ms < 0 ? `${span(ms)} ago` : `in ${span(ms)}`;
}

export const formatDate = (iso: string): string => new Date(iso).toLocaleString();

export function Time({ iso }: { iso: string | null }) {
  if (iso === null) return <>never</>;
  return (
    <time dateTime={iso} title={formatDate(iso)}>
      {relative(iso)}
    </time>
  );
}

export function formatNumber(v: number | null | undefined): string {
  if (v === null || v === undefined) return '—';
  return Number.isInteger(v) ? String(v) : String(Number(v.toPrecision(6)));
}

// --- Evidence -------------------------------------------------------------------------------

export function gateSummary(gates: Gate[]): string {
  if (gates.length === 0) return 'no gates';
  const passed = gates.filter((g) => g.passed).length;
  return passed === gates.length
    ? `all ${gates.length} passed`
    : `${gates.length - passed} of ${gates.length} failed`;
}

export function GateList({ gates }: { gates: Gate[] }) {
  if (gates.length === 0) return <p>No gates: the policy sets none.</p>;
  return (
    <ul class="gates">
      {gates.map((g) => (
        <li key={g.gate} class={g.passed ? 'good' : 'bad'}>
          <strong>{g.passed ? 'Passed' : 'Failed'}</strong>: {g.gate} — {g.reason}
        </li>
      ))}
    </ul>
  );
}

export function FileTable({ manifest }: { manifest: Manifest }) {
  return (
    <div class="scroll">
      <table>
        <caption>Files of artifact {manifest.artifact_id}</caption>
        <thead>
          <tr>
            <th scope="col">File</th>
            <th scope="col">Size</th>
            <th scope="col">SHA-256</th>
          </tr>
        </thead>
        <tbody>
          {manifest.files.map((f) => (
            <tr key={f.name}>
              <td>{f.name}</td>
              <td title={`${f.size} bytes`}>{formatBytes(f.size)}</td>
              <td>
                <code class="hash">{f.sha256}</code>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

const EVENT_WORDS: Record<string, string> = {
  transition: 'moved',
  approval_requested: 'requested',
  approval_approved: 'approved',
  approval_vote_added: 'voted for',
  approval_rejected: 'rejected',
  approval_cancelled: 'cancelled',
  approval_expired: 'expired',
  approval_apply_failed: 'failed to apply',
};

export function HistoryTable({ entries }: { entries: HistoryEntry[] }) {
  if (entries.length === 0) return <p>No history yet.</p>;
  return (
    <div class="scroll">
      <table>
        <caption>History, oldest first</caption>
        <thead>
          <tr>
            <th scope="col">When</th>
            <th scope="col">Event</th>
            <th scope="col">Stages</th>
            <th scope="col">By</th>
            <th scope="col">Comment</th>
          </tr>
        </thead>
        <tbody>
          {entries.map((e) => (
            <tr key={e.id}>
              <td>
                <Time iso={e.timestamp} />
              </td>
              <td>{EVENT_WORDS[e.event] ?? e.event.replace(/_/g, ' ')}</td>
              <td>
                {e.from_stage !== null || e.to_stage !== null
                  ? `${e.from_stage ?? '—'} → ${e.to_stage ?? '—'}`
                  : ''}
              </td>
              <td>{e.actor}</td>
              <td>{e.comment ?? ''}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

export function KeyValues({
  caption,
  values,
}: {
  caption: string;
  values: Record<string, unknown>;
}) {
  const entries = Object.entries(values);
  if (entries.length === 0) return <p>No {caption.toLowerCase()}.</p>;
  return (
    <div class="scroll">
      <table>
        <caption>{caption}</caption>
        <tbody>
          {entries.map(([k, v]) => (
            <tr key={k}>
              <th scope="row">{k}</th>
              <td>{typeof v === 'number' ? formatNumber(v) : String(v)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

type Verdict = 'better' | 'worse' | 'same' | 'not compared';

function verdict(direction: string, base: number | null, candidate: number | null): Verdict {
  if (base === null || candidate === null) return 'not compared';
  if (candidate === base) return 'same';
  const higher = candidate > base;
  return higher === (direction === 'higher_is_better') ? 'better' : 'worse';
}

const VERDICT_MARK: Record<Verdict, string> = {
  better: '▲ better',
  worse: '▼ worse',
  same: '= same',
  'not compared': 'not compared',
};

/** The candidate against a baseline (the version in production), metric by metric. */
export function MetricDeltas({
  comparison,
  base,
  candidate,
}: {
  comparison: Comparison;
  base: number;
  candidate: number;
}) {
  const of = (v: number) => comparison.comparison.find((c) => c.version === v)?.metrics ?? {};
  const b = of(base);
  const c = of(candidate);
  return (
    <div class="scroll">
      <table class="deltas">
        <caption>
          Version {candidate} (candidate) against version {base} (in production)
        </caption>
        <thead>
          <tr>
            <th scope="col">Metric</th>
            <th scope="col">Production v{base}</th>
            <th scope="col">Candidate v{candidate}</th>
            <th scope="col">Difference</th>
            <th scope="col">Better when</th>
            <th scope="col">Candidate is</th>
          </tr>
        </thead>
        <tbody>
          {comparison.metrics.map((m) => {
            const bv = b[m.name] ?? null;
            const cv = c[m.name] ?? null;
            const v = verdict(m.direction, bv, cv);
            const diff = bv !== null && cv !== null ? cv - bv : null;
            return (
              <tr key={m.name}>
                <th scope="row">{m.name}</th>
                <td>{formatNumber(bv)}</td>
                <td>{formatNumber(cv)}</td>
                <td>{diff === null ? '—' : `${diff > 0 ? '+' : ''}${formatNumber(diff)}`}</td>
                <td>{m.direction === 'higher_is_better' ? 'higher' : 'lower'}</td>
                <td class={`verdict ${v.replace(' ', '-')}`}>{VERDICT_MARK[v]}</td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}

export function Section({ title, children }: { title: string; children: ComponentChildren }) {
  return (
    <section aria-label={title}>
      <h2>{title}</h2>
      {children}
    </section>
  );
}
