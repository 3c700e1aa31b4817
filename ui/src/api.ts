// The API as the console calls it: same origin, the user's bearer token, JSON in and out. Every
// error becomes an ApiError carrying the API's own message (shown as is) and code.

export const API_BASE = '/api/v1/ml/registry';

export class ApiError extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly code: string | undefined,
    readonly details: unknown,
  ) {
    super(message);
  }
}

type Unauthenticated = (message: string) => void;
let onUnauthenticated: Unauthenticated = () => undefined;
let currentToken: string | undefined;

/** Who the calls are made as, and what happens when the API no longer accepts the token. */
export function useToken(token: string | undefined, expired: Unauthenticated): void {
  currentToken = token;
  onUnauthenticated = expired;
}

export async function api<T>(path: string, init: { method?: string; body?: unknown } = {}) {
  const headers: Record<string, string> = { Accept: 'application/json' };
  if (currentToken !== undefined) headers['Authorization'] = `Bearer ${currentToken}`;
  if (init.body !== undefined) headers['Content-Type'] = 'application/json';
  let res: Response;
  try {
    res = await fetch(`${API_BASE}${path}`, {
      method: init.method ?? 'GET',
      headers,
      body: init.body === undefined ? undefined : JSON.stringify(init.body),
    });
  } catch {
    throw new ApiError(
      'The service could not be reached: check the connection.',
      0,
      undefined,
      null,
    );
  }
  const text = await res.text();
  let body: unknown = null;
  try {
    body = text === '' ? null : JSON.parse(text);
  } catch {
    body = null;
  }
  if (!res.ok) {
    const e = (body ?? {}) as { message?: unknown; code?: unknown; details?: unknown };
    const message =
      typeof e.message === 'string'
        ? e.message
        : Array.isArray(e.message)
          ? e.message.join('; ')
          : `HTTP ${res.status} ${res.statusText}`;
    const error = new ApiError(
      message,
      res.status,
      typeof e.code === 'string' ? e.code : undefined,
      e.details,
    );
    if (res.status === 401) onUnauthenticated(message);
    throw error;
  }
  return { status: res.status, body: body as T };
}

export const get = async <T>(path: string): Promise<T> => (await api<T>(path)).body;

export const enc = encodeURIComponent;

// --- The API's shapes (see the service's DTOs) ---------------------------------------------

export type Stage = 'none' | 'staging' | 'production' | 'archived';

export interface ModelSummary {
  name: string;
  latest_version: number | null;
  production_version: number | null;
  staging_version: number | null;
  created_at: string;
  last_updated: string;
  description: string;
  tags: Record<string, string>;
}

export interface Version {
  name: string;
  version: number;
  stage: Stage;
  artifact_id: string | null;
  metrics: Record<string, number>;
  parameters: Record<string, string | number | boolean>;
  tags: Record<string, string>;
  description: string;
  created_by: string | null;
  created_at: string;
  last_updated: string;
}

export interface Model extends ModelSummary {
  versions: Version[];
}

export interface Gate {
  gate: string;
  type: string;
  passed: boolean;
  actual: number | string | null;
  expected: string;
  reason: string;
}

export interface Vote {
  by: string;
  by_tenant: string;
  at: string;
  comment: string | null;
}

export interface Approval {
  id: string;
  model: string;
  version: number;
  target_stage: Stage;
  status: 'pending' | 'approved' | 'rejected' | 'cancelled' | 'expired';
  requested_by: string;
  requested_by_tenant: string;
  requested_at: string;
  comment: string | null;
  decided_by: string | null;
  decided_at: string | null;
  decision_comment: string | null;
  apply_state: string;
  kind: 'promotion' | 'demotion' | 'rollback';
  required_approvals: number;
  approver_roles: string[] | null;
  approvals: Vote[];
  gates: Gate[];
  expires_at: string | null;
  artifact_sha256: string | null;
  apply_error: { code: string; message: string } | null;
}

export interface Comparison {
  comparison: { version: number; metrics: Record<string, number | null>; stage: Stage }[];
  recommendation: string;
  recommended_version: number | null;
  metrics: {
    name: string;
    direction: 'higher_is_better' | 'lower_is_better';
    compared: boolean;
    best_versions: number[];
  }[];
}

export interface Manifest {
  artifact_id: string;
  files: { name: string; size: number; sha256: string }[];
  created_at: string;
  created_by: string;
}

export interface HistoryEntry {
  id: number;
  event: string;
  from_stage: Stage | null;
  to_stage: Stage | null;
  actor: string;
  timestamp: string;
  comment: string | null;
  approval_id: string | null;
}
