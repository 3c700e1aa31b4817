import pino, { type DestinationStream } from 'pino';
import type { LogFormat } from '../../config/app-config';

/** A log destination that can be flushed synchronously before the process exits. */
export type FlushableDestination = DestinationStream & { flushSync?: () => void };

/** Keys shown in the readable line itself (formatLine) rather than as properties below it. */
const FOLDED_KEYS = 'pid,hostname,req,res,responseTime,code,message,tenant,user,context';

interface RequestPart {
  id?: unknown;
  method?: unknown;
  url?: unknown;
}

const objectOrUndefined = <T>(value: unknown): T | undefined =>
  typeof value === 'object' && value !== null ? (value as T) : undefined;

/**
 * One readable line per log entry. A request line reads like an access log,
 * `GET /api/v1/ml/registry/models 401 3 ms UNAUTHENTICATED: token has expired`; another line
 * carries its Nest context first and the request it served last.
 */
export function formatLine(log: Record<string, unknown>, messageKey: string): string {
  const message = log[messageKey];
  const msg = typeof message === 'string' ? message : '';
  const req = objectOrUndefined<RequestPart>(log.req);
  const res = objectOrUndefined<{ statusCode?: unknown }>(log.res);
  const code = typeof log.code === 'string' ? log.code : undefined;
  if (req !== undefined && res !== undefined && typeof log.responseTime === 'number') {
    const status = msg === 'request aborted' ? 'aborted' : String(res.statusCode);
    let text = `${String(req.method)} ${String(req.url)} ${status} ${log.responseTime} ms`;
    if (typeof log.user === 'string') text += ` ${log.user}@${String(log.tenant)}`;
    if (code !== undefined) text += ` ${code}: ${String(log.message)}`;
    if (Number(res.statusCode) >= 500 || status === 'aborted')
      text += ` (request ${String(req.id)})`;
    return text;
  }
  let text = typeof log.context === 'string' ? `[${log.context}] ${msg}` : msg;
  if (code !== undefined) text += ` (${code})`;
  if (req !== undefined) {
    text += ` (${String(req.method)} ${String(req.url)}, request ${String(req.id)})`;
  }
  return text;
}

/**
 * Readable lines through pino-pretty's formatter, in this process and synchronously per line
 * (so the fatal-error path can still flush what was logged). pino-pretty is required here, on
 * first use only: a service logging JSON (production, CI, tests) never loads it.
 */
function prettyDestination(out: FlushableDestination | undefined): FlushableDestination {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded only when used
  const pretty = require('pino-pretty') as typeof import('pino-pretty');
  const target = out ?? pino.destination({ dest: 1, sync: false });
  const prettify = pretty.prettyFactory({
    // Colours for a terminal only (pino-pretty's own check of stdout), never into a test's sink.
    colorize: out === undefined && pretty.isColorSupported,
    translateTime: 'SYS:HH:MM:ss.l',
    ignore: FOLDED_KEYS,
    messageFormat: formatLine,
  });
  return {
    write: (line: string) => target.write(prettify(line)),
    flushSync: () => target.flushSync?.(),
  };
}

/**
 * Where the process's log lines go, in the configured format: JSON lines to stdout through a
 * background buffer (under load many lines go out in one write), or readable lines (`pretty`,
 * LOG_FORMAT or a terminal). `out` replaces stdout (tests).
 */
export function logDestination(
  format: LogFormat,
  out?: FlushableDestination,
): FlushableDestination {
  switch (format) {
    case 'json':
      return out ?? pino.destination({ dest: 1, sync: false });
    case 'pretty':
      return prettyDestination(out);
  }
}
