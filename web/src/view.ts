// The list view's state in the address bar: filters, search and sort are the
// query string (`?q=…&status=…&priority=…&tag=…&sort=…`), so a reload, the
// back/forward buttons and a shared link restore the view. Values that are
// not ours (a hand-edited link) fall back to the defaults; the default sort
// is left out of the URL.
import type { Priority } from './api';

export const PRIORITIES: Priority[] = ['low', 'medium', 'high', 'urgent'];
export const STATUSES = ['open', 'completed'] as const;
export const DEFAULT_SORT = '-createdAt';
export const SORTS: [string, string][] = [
  [DEFAULT_SORT, 'Newest first'],
  ['createdAt', 'Oldest first'],
  ['dueAt', 'Due date'],
  ['-priority', 'Priority (high first)'],
  ['title', 'Title (A–Z)'],
  ['-updatedAt', 'Recently updated'],
];

export interface Filters {
  status: string;
  priority: string;
  tag: string;
  q: string;
  sort: string;
}

export const DEFAULT_FILTERS: Filters = { status: '', priority: '', tag: '', q: '', sort: DEFAULT_SORT };

/** The filters a query string (`location.search`) names. */
export function filtersFromSearch(search: string): Filters {
  const p = new URLSearchParams(search);
  const pick = (key: string, allowed: readonly string[]) => {
    const v = p.get(key) ?? '';
    return allowed.includes(v) ? v : '';
  };
  const sort = p.get('sort') ?? '';
  return {
    status: pick('status', STATUSES),
    priority: pick('priority', PRIORITIES),
    tag: (p.get('tag') ?? '').trim(),
    q: p.get('q') ?? '',
    sort: SORTS.some(([v]) => v === sort) ? sort : DEFAULT_SORT,
  };
}

/** The query string (with `?`, or empty) for `filters`. */
export function filtersToSearch(f: Filters): string {
  const p = new URLSearchParams();
  if (f.q.trim()) p.set('q', f.q);
  if (f.status) p.set('status', f.status);
  if (f.priority) p.set('priority', f.priority);
  if (f.tag) p.set('tag', f.tag);
  if (f.sort !== DEFAULT_SORT) p.set('sort', f.sort);
  const s = p.toString();
  return s ? `?${s}` : '';
}

/** The `GET /api/tasks` parameters for `filters` (no limit or cursor). */
export function listParams(f: Filters): URLSearchParams {
  const params = new URLSearchParams({ sort: f.sort });
  if (f.status) params.set('status', f.status);
  if (f.priority) params.set('priority', f.priority);
  if (f.tag) params.append('tag', f.tag);
  if (f.q.trim()) params.set('q', f.q.trim());
  return params;
}

export const isUnfiltered = (f: Filters) => !f.status && !f.priority && !f.tag && !f.q.trim();

/**
 * `page` appended to `list`: a task of `page` that `list` already holds
 * (shown at the top after a live create, or moved by a change) is taken out
 * of its earlier place, so every task is shown once, where the server puts it.
 */
export function appendPage<T extends { id: string }>(list: T[], page: T[]): T[] {
  const ids = new Set(page.map((t) => t.id));
  return [...list.filter((t) => !ids.has(t.id)), ...page];
}
