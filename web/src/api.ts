// The REST API (README "HTTP API"): a thin typed fetch wrapper. Every call
// goes through the session (auth.ts), which adds the bearer token and, on a
// 401, refreshes it once and retries; errors are RFC 9457 problem details.

export type Priority = 'low' | 'medium' | 'high' | 'urgent';
export type Channel = 'inbox' | 'email' | 'webhook';

export interface Task {
  id: string;
  title: string;
  description?: string | null;
  status: 'open' | 'completed';
  priority?: Priority | null;
  tags?: string[];
  dueAt?: string | null;
  timezone?: string;
  reminder?: { before: string; channels?: Channel[] } | null;
  recurrence?: { rrule: string; from?: 'due' | 'completion'; seriesId?: string; occurrence?: number } | null;
  completedAt?: string | null;
  createdAt: string;
  updatedAt: string;
  version: number;
}

export interface Notification {
  id: string;
  kind: string;
  taskId: string;
  title: string;
  dueAt?: string | null;
  remindAt: string;
  createdAt: string;
  read: boolean;
}

export interface AuditEntry {
  seq: number;
  type: string;
  at: string;
  actor: string;
  changes: { field: string; from: unknown; to: unknown }[];
}

export interface Problem {
  type?: string;
  title?: string;
  detail?: string;
  errors?: { field: string; message: string }[];
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly problem: Problem,
    /** Seconds from the `Retry-After` header (429, 503), when there is one. */
    readonly retryAfter: number | null = null,
  ) {
    super(problem.detail || problem.title || `HTTP ${status}`);
  }
  /** Field messages, or the detail. */
  describe(): string {
    const fields = this.problem.errors?.map((e) => `${e.field}: ${e.message}`).join('; ');
    return fields || this.message;
  }
}

/** The body of `response` as JSON (undefined for 204 or empty); a problem (with `Retry-After`) when not ok. */
export async function readJson<T>(response: Response): Promise<T> {
  if (response.status === 204) return undefined as T;
  const text = await response.text();
  let data: unknown;
  try {
    data = text ? JSON.parse(text) : undefined;
  } catch {
    if (response.ok) throw new ApiError(response.status, { detail: 'The server answered something that is not JSON.' });
  }
  if (!response.ok) throw new ApiError(response.status, (data as Problem) ?? {}, retryAfterSecs(response.headers.get('Retry-After')));
  return data as T;
}

/** `Retry-After` (delta-seconds or an HTTP date) in seconds from now. */
function retryAfterSecs(value: string | null): number | null {
  if (!value) return null;
  if (/^\d+$/.test(value.trim())) return Number(value.trim());
  const at = Date.parse(value);
  return Number.isNaN(at) ? null : Math.max(0, Math.ceil((at - Date.now()) / 1000));
}

/** What the API calls go through: adds the bearer token (auth.ts `Session`). */
export interface Authorizer {
  fetch(path: string, init: RequestInit): Promise<Response>;
}

export class Api {
  constructor(readonly auth: Authorizer) {}

  async call<T>(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<T> {
    const init: RequestInit = { method, headers: { Accept: 'application/json', ...headers } };
    if (body !== undefined) {
      (init.headers as Record<string, string>)['Content-Type'] =
        method === 'PATCH' ? 'application/merge-patch+json' : 'application/json';
      init.body = JSON.stringify(body);
    }
    return readJson<T>(await this.auth.fetch(path, init));
  }

  listTasks(params: URLSearchParams) {
    return this.call<{ items: Task[]; total: number; nextCursor?: string | null }>('GET', `/api/tasks?${params}`);
  }
  tags() {
    return this.call<{ items: { tag: string; count: number }[] }>('GET', '/api/tags');
  }
  createTask(task: Partial<Task>) {
    return this.call<Task>('POST', '/api/tasks', task, { 'Idempotency-Key': crypto.randomUUID() });
  }
  patchTask(id: string, patch: Record<string, unknown>) {
    return this.call<Task>('PATCH', `/api/tasks/${encodeURIComponent(id)}`, patch);
  }
  complete(id: string) {
    return this.call<Task>('POST', `/api/tasks/${encodeURIComponent(id)}/complete`);
  }
  reopen(id: string) {
    return this.call<Task>('POST', `/api/tasks/${encodeURIComponent(id)}/reopen`);
  }
  remove(id: string) {
    return this.call<void>('DELETE', `/api/tasks/${encodeURIComponent(id)}`);
  }
  /** A task's whole history, oldest first, following `nextCursor` (200 per page). */
  async history(id: string) {
    const base = `/api/audit/tasks/${encodeURIComponent(id)}`;
    const items: AuditEntry[] = [];
    let cursor: string | null = '';
    while (cursor !== null) {
      const page: { items: AuditEntry[]; nextCursor?: string | null } = await this.call(
        'GET',
        cursor ? `${base}?cursor=${encodeURIComponent(cursor)}` : base,
      );
      items.push(...page.items);
      cursor = page.nextCursor ?? null;
    }
    return items;
  }
  preview(rrule: string, dtstart: string, timezone: string) {
    const q = new URLSearchParams({ rrule, dtstart, timezone, count: '3' });
    return this.call<{ dates: string[] }>('GET', `/api/recurrence/preview?${q}`);
  }
  notifications() {
    return this.call<{ items: Notification[]; unread: number }>('GET', '/api/notifications?limit=50');
  }
  markRead(id: string) {
    return this.call<unknown>('POST', `/api/notifications/${encodeURIComponent(id)}/read`);
  }
}

/** The `sub` of a JWT, without verifying it (the server does). */
export function tokenSubject(token: string): string | null {
  try {
    const payload = token.split('.')[1];
    const json = atob(payload.replace(/-/g, '+').replace(/_/g, '/'));
    const sub = JSON.parse(json).sub;
    return typeof sub === 'string' ? sub : null;
  } catch {
    return null;
  }
}
