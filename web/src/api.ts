// Thin client of flowhunt's /api/v1. The console authenticates with the
// HttpOnly cookie set at sign-in, so no token is handled here.

export interface Result {
  columns: string[];
  rows: unknown[][];
  truncated: boolean;
  sql?: string;
  elapsed_ms?: number;
  error?: string;
}

export interface Finding {
  id: string;
  detector: string;
  title: string;
  severity: string;
  score: number;
  mitre: string[] | null;
  entity: { kind: string; value: string };
  counterparts?: string[];
  ports?: number[];
  first_seen: string;
  last_seen: string;
  evidence?: Record<string, unknown>;
  sql: string;
  links?: string[];
  status: string;
}

export class APIError extends Error {
  constructor(public status: number, message: string) {
    super(message);
  }
}

let range = '';

// setRange sets the ?from= duration applied to range-aware calls.
export function setRange(r: string) {
  range = r;
}

export function withRange(path: string): string {
  if (!range) return path;
  return path + (path.includes('?') ? '&' : '?') + 'from=' + encodeURIComponent(range);
}

async function request<T>(method: string, path: string, body?: unknown): Promise<T> {
  const init: RequestInit = { method, credentials: 'same-origin', headers: {} };
  if (body !== undefined) {
    (init.headers as Record<string, string>)['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  const resp = await fetch('/api/v1' + path, init);
  const text = await resp.text();
  let data: any = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    throw new APIError(resp.status, `cannot parse answer of ${path}: ${text.slice(0, 200)}`);
  }
  if (!resp.ok) {
    if (resp.status === 401) {
      location.href = '/';
    }
    throw new APIError(resp.status, (data && data.error) || resp.statusText);
  }
  return data as T;
}

export const api = {
  get: <T>(path: string) => request<T>('GET', path),
  post: <T>(path: string, body: unknown) => request<T>('POST', path, body),
};

// Query runs SQL or Insights; errors come back in the result, not thrown.
export async function runQuery(query: string, mode: string, maxRows = 5000): Promise<Result> {
  const resp = await fetch('/api/v1/query', {
    method: 'POST',
    credentials: 'same-origin',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ query, mode, max_rows: maxRows }),
  });
  const data = await resp.json();
  if (!resp.ok) return { columns: [], rows: [], truncated: false, error: data.error || resp.statusText, sql: data.sql };
  return data as Result;
}
