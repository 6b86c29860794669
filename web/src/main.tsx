// The Todo UI: sign up, sign in and out (auth.ts keeps the session; on
// devstack a pasted developer token too), list/filter/search/sort tasks, create
// and edit them (due date in the user's zone, reminder, recurrence builder
// with a preview), complete/reopen/delete optimistically, a task's history,
// the notification inbox, and live updates over Server-Sent Events.
import { render } from 'preact';
import { useCallback, useEffect, useMemo, useRef, useState } from 'preact/hooks';
import type { JSX } from 'preact';
import { Api, ApiError } from './api';
import { developerTokensOffered, Session, TOKEN_REFUSED } from './auth';
import type { SessionState } from './auth';
import type { AuditEntry, Channel, Notification, Priority, Task } from './api';
import { fromRrule, toRrule, WEEKDAY_NAMES, WEEKDAYS } from './recurrence';
import type { Rule } from './recurrence';
import { connectSync } from './sync';
import { formatInstant, instantToWall, localZone, relative, wallToInstant } from './time';
import { appendPage, filtersFromSearch, filtersToSearch, isUnfiltered, listParams, PRIORITIES, SORTS } from './view';
import type { Filters } from './view';
import './styles.css';

/** Tasks per "Load more"; the API allows 1–200 per request. */
const PAGE = 100;
const MAX_LIMIT = 200;
const REMINDERS: [string, string][] = [
  ['', 'No reminder'],
  ['PT1M', '1 minute before'],
  ['PT5M', '5 minutes before'],
  ['PT15M', '15 minutes before'],
  ['PT30M', '30 minutes before'],
  ['PT1H', '1 hour before'],
  ['P1D', '1 day before'],
  ['P1W', '1 week before'],
];

interface Toast {
  id: number;
  text: string;
  kind: 'info' | 'error' | 'reminder';
}

/** The session: the access token in memory, restored from the refresh cookie on start (auth.ts). */
const session = new Session();
session.restore();

function useSessionState(s: Session): SessionState {
  const [state, setState] = useState(s.state);
  useEffect(() => {
    setState(s.state);
    return s.onState(setState);
  }, [s]);
  return state;
}

function App() {
  const state = useSessionState(session);
  useEffect(() => {
    if (state.status === 'signed-in') document.title = 'Todo';
  }, [state.status]);
  if (state.status === 'restoring') {
    return (
      <main class="signin" aria-busy="true">
        <p class="restoring">Loading…</p>
      </main>
    );
  }
  if (state.status === 'signed-out') return <SignedOut notice={state.notice} />;
  return <Main session={session} state={state} />;
}

type View = 'signin' | 'signup' | 'developer';

const VIEW_TITLES: Record<View, string> = {
  signin: 'Sign in',
  signup: 'Create an account',
  developer: 'Sign in with a developer token',
};

/** What went wrong with a submit: messages per field (by the API's field name) and/or one for the form. */
interface FormErrors {
  fields: Record<string, string>;
  summary: string | null;
}

const NO_ERRORS: FormErrors = { fields: {}, summary: null };
const FIELD_LABELS: Record<string, string> = { email: 'Email', password: 'Password', name: 'Name' };

/**
 * A failed sign-in or sign-up as messages: 422 field errors on their fields
 * ("Password must be at least 10 characters long."), 401, 409, 429 (with the
 * wait from `Retry-After`) and network failures as one message.
 *
 * A 409 on sign-up (the address already has an account) is worded so that
 * the page does not announce "this address is registered" to whoever types
 * it: the same sentence would fit any refusal, and it points a returning
 * user to sign in (README "Accounts" records the choice).
 */
function authErrors(err: unknown, fieldOrder: string[]): FormErrors {
  if (err instanceof ApiError) {
    if (err.status === 401) return { fields: {}, summary: 'The email address or password is not correct.' };
    if (err.status === 409) {
      return { fields: {}, summary: 'We could not create an account with these details. If you already have an account, sign in instead.' };
    }
    if (err.status === 429) {
      const minutes = err.retryAfter === null ? null : Math.max(1, Math.ceil(err.retryAfter / 60));
      return {
        fields: {},
        summary: minutes === null ? 'Too many attempts, try again later.' : `Too many attempts, try again in ${minutes} minute${minutes === 1 ? '' : 's'}.`,
      };
    }
    const fields: Record<string, string> = {};
    const other: string[] = [];
    for (const e of err.problem.errors ?? []) {
      const text = `${FIELD_LABELS[e.field] ?? e.field} ${e.message}.`;
      if (fieldOrder.includes(e.field) && !fields[e.field]) fields[e.field] = text;
      else other.push(text);
    }
    if (Object.keys(fields).length || other.length) return { fields, summary: other.join(' ') || null };
    return { fields: {}, summary: err.message };
  }
  if (err instanceof TypeError) return { fields: {}, summary: 'The server could not be reached. Check your connection and try again.' };
  return { fields: {}, summary: String((err as Error)?.message ?? err) };
}

/**
 * The errors of a form and where keyboard focus goes when they appear: the
 * first invalid field (its message is linked with aria-describedby), or the
 * summary when no field is to blame. Every failed submit re-mounts the
 * summary (`attempt`), so its role="alert" is announced again even when the
 * text is the same.
 */
function useFormErrors(idPrefix: string, fieldOrder: string[], initial: FormErrors = NO_ERRORS) {
  const [errors, setErrors] = useState<FormErrors>(initial);
  const [attempt, setAttempt] = useState(0);
  const summaryRef = useRef<HTMLDivElement>(null);
  // Errors handed over from another form are focused like fresh ones.
  const pendingFocus = useRef(initial !== NO_ERRORS);
  const fail = (e: FormErrors) => {
    pendingFocus.current = true;
    setErrors(e);
    setAttempt((n) => n + 1);
  };
  useEffect(() => {
    if (!pendingFocus.current) return;
    pendingFocus.current = false;
    const first = fieldOrder.find((f) => errors.fields[f]);
    if (first) document.getElementById(`${idPrefix}-${first}`)?.focus();
    else summaryRef.current?.focus();
  }, [attempt]);
  const clear = () => setErrors(NO_ERRORS);
  const summary =
    errors.summary || Object.keys(errors.fields).length ? (
      <div key={attempt} class="error-summary" role="alert" tabIndex={-1} ref={summaryRef}>
        {errors.summary && <p>{errors.summary}</p>}
        {Object.keys(errors.fields).length > 0 && (
          <ul>
            {fieldOrder.filter((f) => errors.fields[f]).map((f) => (
              <li>{errors.fields[f]}</li>
            ))}
          </ul>
        )}
      </div>
    ) : null;
  return { errors, fail, clear, summary };
}

function Field({ id, label, error, hint, ...input }: { id: string; label: string; error?: string; hint?: string } & JSX.InputHTMLAttributes<HTMLInputElement>) {
  const described = [hint && `${id}-hint`, error && `${id}-error`].filter(Boolean).join(' ');
  return (
    <div class="field">
      <label for={id}>{label}</label>
      <input id={id} name={id} required aria-invalid={error ? 'true' : undefined} aria-describedby={described || undefined} {...input} />
      {hint && <p id={`${id}-hint`} class="field-hint">{hint}</p>}
      {error && <p id={`${id}-error`} class="field-error">{error}</p>}
    </div>
  );
}

function ShowPassword({ id, shown, onChange }: { id: string; shown: boolean; onChange: (shown: boolean) => void }) {
  return (
    <label class="check-label show-password" for={id}>
      <input id={id} type="checkbox" checked={shown} onChange={(e) => onChange(e.currentTarget.checked)} /> Show password
    </label>
  );
}

/** The signed-out page: sign-in, sign-up and (devstack only) the developer-token form. */
function SignedOut({ notice }: { notice?: string }) {
  const developer = developerTokensOffered();
  const [view, setView] = useState<View>('signin');
  // Kept across the forms: switching does not lose what was typed.
  const [email, setEmail] = useState('');
  /** Errors handed from one form to the next (a sign-up whose sign-in then failed). */
  const [carried, setCarried] = useState<FormErrors | undefined>(undefined);
  const [announced, setAnnounced] = useState('');
  const headingRef = useRef<HTMLHeadingElement>(null);
  const focusHeading = useRef(Boolean(notice));

  // Into the (already present) live region after the page is up, so it is read out.
  useEffect(() => {
    const t = window.setTimeout(() => setAnnounced(notice ?? ''), 100);
    return () => window.clearTimeout(t);
  }, [notice]);
  useEffect(() => {
    document.title = `${VIEW_TITLES[view]} · Todo`;
    // After a switch (or a sign-out) focus goes to the new form's heading, which screen readers read.
    if (focusHeading.current) headingRef.current?.focus();
    focusHeading.current = false;
  }, [view]);
  const show = (next: View, errors?: FormErrors) => {
    focusHeading.current = !errors;
    setCarried(errors);
    setAnnounced('');
    setView(next);
  };

  return (
    <main class="signin">
      <div class="card">
        <h1>Todo</h1>
        <h2 id="auth-title" ref={headingRef} tabIndex={-1} class="form-title">{VIEW_TITLES[view]}</h2>
        <div role="status" aria-live="polite">
          {announced && <p class="notice">{announced}</p>}
        </div>
        {view === 'signin' && <SignInForm key="signin" email={email} setEmail={setEmail} initial={carried} />}
        {view === 'signup' && <SignUpForm key="signup" email={email} setEmail={setEmail} onSignInFailed={(e) => show('signin', e)} />}
        {view === 'developer' && <DeveloperTokenForm />}
        {view === 'signin' && (
          <p class="switch">
            No account yet?{' '}
            <button type="button" class="link" onClick={() => show('signup')}>Create an account</button>
          </p>
        )}
        {view === 'signup' && (
          <p class="switch">
            Already have an account?{' '}
            <button type="button" class="link" onClick={() => show('signin')}>Sign in</button>
          </p>
        )}
        {view === 'developer' && (
          <p class="switch">
            <button type="button" class="link" onClick={() => show('signin')}>Use email and password instead</button>
          </p>
        )}
        {developer && view === 'signin' && (
          <p class="switch dev">
            Served by devstack:{' '}
            <button type="button" class="link" onClick={() => show('developer')}>Use a developer token</button>
          </p>
        )}
      </div>
    </main>
  );
}

function SignInForm({ email, setEmail, initial }: { email: string; setEmail: (v: string) => void; initial?: FormErrors }) {
  const order = ['email', 'password'];
  const { errors, fail, clear, summary } = useFormErrors('signin', order, initial);
  const [password, setPassword] = useState('');
  const [shown, setShown] = useState(false);
  const [busy, setBusy] = useState(false);
  const submit = async (e: Event) => {
    e.preventDefault();
    const missing: Record<string, string> = {};
    if (!email.trim()) missing.email = 'Enter your email address.';
    if (!password) missing.password = 'Enter your password.';
    if (Object.keys(missing).length) return fail({ fields: missing, summary: null });
    clear();
    setBusy(true);
    try {
      await session.login(email.trim(), password); // signed in: this page goes away
    } catch (err) {
      setBusy(false);
      fail(authErrors(err, order));
    }
  };
  return (
    <form class="auth-form" onSubmit={submit} noValidate aria-labelledby="auth-title">
      {summary}
      <Field id="signin-email" label="Email" type="email" autocomplete="email" value={email} onInput={(e) => setEmail(e.currentTarget.value)} error={errors.fields.email} spellcheck={false} />
      <Field
        id="signin-password"
        label="Password"
        type={shown ? 'text' : 'password'}
        autocomplete="current-password"
        value={password}
        onInput={(e) => setPassword(e.currentTarget.value)}
        error={errors.fields.password}
      />
      <ShowPassword id="signin-show" shown={shown} onChange={setShown} />
      <button type="submit" class="primary" disabled={busy}>{busy ? 'Signing in…' : 'Sign in'}</button>
    </form>
  );
}

function SignUpForm({ email, setEmail, onSignInFailed }: { email: string; setEmail: (v: string) => void; onSignInFailed: (e: FormErrors) => void }) {
  const order = ['name', 'email', 'password'];
  const { errors, fail, clear, summary } = useFormErrors('signup', order);
  const [name, setName] = useState('');
  const [password, setPassword] = useState('');
  const [shown, setShown] = useState(false);
  const [busy, setBusy] = useState(false);
  const submit = async (e: Event) => {
    e.preventDefault();
    const missing: Record<string, string> = {};
    if (!name.trim()) missing.name = 'Enter your name.';
    if (!email.trim()) missing.email = 'Enter your email address.';
    if (!password) missing.password = 'Choose a password.';
    if (Object.keys(missing).length) return fail({ fields: missing, summary: null });
    clear();
    setBusy(true);
    try {
      await session.signUp(email.trim(), password, name.trim());
    } catch (err) {
      setBusy(false);
      fail(authErrors(err, order));
      return;
    }
    try {
      await session.login(email.trim(), password); // signed in: this page goes away
    } catch (err) {
      const { summary: why } = authErrors(err, []);
      onSignInFailed({ fields: {}, summary: `Your account was created, but signing in failed: ${why ?? 'try again.'}` });
    }
  };
  return (
    <form class="auth-form" onSubmit={submit} noValidate aria-labelledby="auth-title">
      {summary}
      <Field id="signup-name" label="Name" type="text" autocomplete="name" value={name} onInput={(e) => setName(e.currentTarget.value)} error={errors.fields.name} maxLength={100} />
      <Field id="signup-email" label="Email" type="email" autocomplete="email" value={email} onInput={(e) => setEmail(e.currentTarget.value)} error={errors.fields.email} spellcheck={false} />
      <Field
        id="signup-password"
        label="Password"
        type={shown ? 'text' : 'password'}
        autocomplete="new-password"
        minLength={10}
        value={password}
        onInput={(e) => setPassword(e.currentTarget.value)}
        error={errors.fields.password}
        hint="At least 10 characters; not a commonly used password."
      />
      <ShowPassword id="signup-show" shown={shown} onChange={setShown} />
      <button type="submit" class="primary" disabled={busy}>{busy ? 'Creating account…' : 'Create account'}</button>
    </form>
  );
}

/** The old paste-a-token sign-in (devstack only: `devstack token` or `scripts/dev` prints one). */
function DeveloperTokenForm() {
  const [value, setValue] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const submit = async (e: Event) => {
    e.preventDefault();
    const token = value.trim().replace(/^Bearer\s+/i, '');
    if (!token) return;
    setBusy(true);
    setError(null);
    try {
      await session.useDeveloperToken(token); // signed in: this page goes away
    } catch (err) {
      setBusy(false);
      setError(err instanceof ApiError && err.status === 401 ? TOKEN_REFUSED : String((err as Error).message));
    }
  };
  return (
    <form class="auth-form" onSubmit={submit} aria-labelledby="auth-title">
      <p>Sign in by pasting an access token. Locally, <code>scripts/dev</code> prints one.</p>
      <label for="token">Access token</label>
      <textarea id="token" rows={4} value={value} onInput={(e) => setValue(e.currentTarget.value)} spellcheck={false} autoComplete="off" required />
      {error && <p class="error" role="alert">{error}</p>}
      <button type="submit" class="primary" disabled={busy}>{busy ? 'Checking…' : 'Sign in with token'}</button>
    </form>
  );
}

/** Who is signed in, where the top bar showed the token's user id before. */
function SignedInAs({ state }: { state: SignedIn }) {
  if (state.kind === 'developer') {
    return <span class="user" title="Signed in with a developer token">{state.subject}</span>;
  }
  const name = state.account?.name;
  const email = state.account?.email ?? state.email ?? '';
  return (
    <span class="user account" title={name ? `Signed in as ${name} <${email}>` : `Signed in as ${email}`}>
      <span class="sr-only">Signed in as </span>
      {name && <span class="user-name">{name}</span>}
      {name && <span class="sr-only">, </span>}
      <span class="user-email">{email}</span>
    </span>
  );
}

type SignedIn = Extract<SessionState, { status: 'signed-in' }>;

function Main({ session, state }: { session: Session; state: SignedIn }) {
  // One Api for the whole session: a refreshed token needs no new one.
  const api = useMemo(() => new Api(session), [session]);
  const [signingOut, setSigningOut] = useState(false);
  // The view comes from the address bar (a reload or a shared link).
  const [filters, setFilters] = useState<Filters>(() => filtersFromSearch(location.search));
  const [search, setSearch] = useState(filters.q);
  const [tasks, setTasks] = useState<Task[] | null>(null);
  const [total, setTotal] = useState(0);
  // The next page's cursor and the list query it belongs to (a cursor is
  // valid only with the filters and sort it came from).
  const [more, setMore] = useState<{ cursor: string; query: string } | null>(null);
  const [loadingMore, setLoadingMore] = useState(false);
  const [tags, setTags] = useState<{ tag: string; count: number }[]>([]);
  const [editing, setEditing] = useState<Task | 'new' | null>(null);
  const [history, setHistory] = useState<Task | null>(null);
  const [inboxOpen, setInboxOpen] = useState(false);
  const [inbox, setInbox] = useState<{ items: Notification[]; unread: number }>({ items: [], unread: 0 });
  const [toasts, setToasts] = useState<Toast[]>([]);
  const [live, setLive] = useState<'live' | 'connecting' | 'offline'>('connecting');
  const tasksRef = useRef<Task[] | null>(null);
  tasksRef.current = tasks;
  /** How many tasks the user has paged to: a refetch fetches that many again. */
  const wantRef = useRef(PAGE);
  /** Tasks created live that lie beyond the loaded pages: kept at the top until their page is loaded. */
  const pinnedRef = useRef(new Set<string>());
  /** Bumped when the view (filters, search, sort) changes: older page loads are dropped. */
  const viewRef = useRef(0);
  /** Index of the task to focus once it is rendered (the first one "Load more" brought). */
  const focusRef = useRef<number | null>(null);
  const listRef = useRef<HTMLUListElement>(null);
  const loadingMoreRef = useRef(false);
  /**
   * `createdAt` (ms) of the user's newest task when the view was first
   * loaded: a live "created" for an older task (its event can arrive late)
   * belongs to its page, not at the top.
   */
  const newestRef = useRef<number | null>(null);
  /** How the next filter change is recorded in the history: a select pushes, typing a search replaces. */
  const historyMode = useRef<'push' | 'replace'>('replace');

  const toast = useCallback((text: string, kind: Toast['kind'] = 'info') => {
    const id = Date.now() + Math.random();
    setToasts((t) => [...t.slice(-2), { id, text, kind }]);
    window.setTimeout(() => setToasts((t) => t.filter((x) => x.id !== id)), kind === 'reminder' ? 10_000 : kind === 'error' ? 6_000 : 3_000);
  }, []);

  // Debounced search box → filter (the URL is replaced, not pushed, while typing).
  useEffect(() => {
    const t = window.setTimeout(() => setFilters((f) => (f.q === search ? f : { ...f, q: search })), 250);
    return () => window.clearTimeout(t);
  }, [search]);

  // Filters → address bar; back/forward → filters.
  useEffect(() => {
    const query = filtersToSearch(filters);
    if (query !== location.search) {
      const url = `${location.pathname}${query}${location.hash}`;
      if (historyMode.current === 'push') window.history.pushState(null, '', url);
      else window.history.replaceState(null, '', url);
    }
    historyMode.current = 'replace';
  }, [filters]);
  useEffect(() => {
    const onPop = () => {
      const f = filtersFromSearch(location.search);
      historyMode.current = 'replace';
      setSearch(f.q);
      setFilters(f);
    };
    window.addEventListener('popstate', onPop);
    return () => window.removeEventListener('popstate', onPop);
  }, []);

  // (Re)fetches the list as far as the user has paged (`wantRef`), in
  // requests of at most 200, and the tags. Only the latest load may set the
  // list: an older one (other filters, or a refetch started before a change)
  // can finish later.
  const loadSeq = useRef(0);
  const load = useCallback(async () => {
    const seq = ++loadSeq.current;
    const want = wantRef.current;
    const base = listParams(filters);
    const first = newestRef.current === null;
    try {
      const tagList = api.tags();
      const newest =
        first && isUnfiltered(filters) && filters.sort !== '-createdAt'
          ? api.listTasks(new URLSearchParams({ sort: '-createdAt', limit: '1' })).then((r) => r.items)
          : null;
      let items: Task[] = [];
      let total = 0;
      let cursor: string | null = null;
      do {
        const params = new URLSearchParams(base);
        params.set('limit', String(Math.min(MAX_LIMIT, want - items.length)));
        if (cursor) params.set('cursor', cursor);
        const page = await api.listTasks(params);
        if (seq !== loadSeq.current) return;
        items = appendPage(items, page.items);
        total = page.total;
        cursor = page.nextCursor ?? null;
      } while (cursor && items.length < want);
      const tagItems = (await tagList).items;
      const newestItems = newest ? await newest : items;
      if (seq !== loadSeq.current) return;
      if (first && newestRef.current === null) {
        newestRef.current = Math.max(-Infinity, ...newestItems.map((t) => Date.parse(t.createdAt)));
      }
      const loaded = new Set(items.map((t) => t.id));
      for (const id of [...pinnedRef.current]) if (loaded.has(id)) pinnedRef.current.delete(id);
      const pinned = (tasksRef.current ?? []).filter((t) => pinnedRef.current.has(t.id));
      setTasks([...pinned, ...items]);
      setTotal(total);
      setMore(cursor ? { cursor, query: base.toString() } : null);
      setTags(tagItems);
    } catch (err) {
      if (seq === loadSeq.current) toast(`Could not load tasks: ${(err as Error).message}`, 'error');
    }
  }, [api, filters, toast]);
  const loadRef = useRef(load);
  loadRef.current = load;
  const unfilteredRef = useRef(true);
  unfilteredRef.current = isUnfiltered(filters);

  /** The next page, appended; keyboard focus moves to its first task. */
  const loadMore = async () => {
    if (!more || loadingMoreRef.current) return;
    loadingMoreRef.current = true;
    setLoadingMore(true);
    const view = viewRef.current;
    const seq = ++loadSeq.current;
    const shown = tasksRef.current?.length ?? 0;
    wantRef.current += PAGE;
    try {
      const params = new URLSearchParams(more.query);
      params.set('limit', String(PAGE));
      params.set('cursor', more.cursor);
      const page = await api.listTasks(params);
      if (view !== viewRef.current) return;
      if (seq === loadSeq.current) {
        for (const t of page.items) pinnedRef.current.delete(t.id);
        const next = appendPage(tasksRef.current ?? [], page.items);
        focusRef.current = next.length - page.items.length;
        setTasks(next);
        setTotal(page.total);
        setMore(page.nextCursor ? { cursor: page.nextCursor, query: more.query } : null);
      } else {
        // A refetch started meanwhile (a live change): it fetches this page too.
        focusRef.current = shown;
      }
    } catch (err) {
      if (view !== viewRef.current) return;
      if (err instanceof ApiError && err.status === 400) {
        // The cursor was refused (it no longer matches the view): fetch the
        // pages again from the start, this one included.
        focusRef.current = shown;
        loadRef.current();
      } else {
        wantRef.current -= PAGE;
        toast(`Could not load more tasks: ${(err as Error).message}`, 'error');
      }
    } finally {
      loadingMoreRef.current = false;
      setLoadingMore(false);
    }
  };

  useEffect(() => {
    const i = focusRef.current;
    if (i === null || !tasks || tasks.length <= i) return;
    focusRef.current = null;
    (listRef.current?.children[i] as HTMLElement | undefined)?.focus();
  }, [tasks]);

  const loadInbox = useCallback(async () => {
    try {
      setInbox(await api.notifications());
    } catch {
      /* the next change retries */
    }
  }, [api]);

  // A new view starts at its first page.
  useEffect(() => {
    viewRef.current++;
    wantRef.current = PAGE;
    newestRef.current = null;
    pinnedRef.current.clear();
    focusRef.current = null;
    setMore(null);
    load();
  }, [load]);

  useEffect(() => {
    loadInbox();
    let pending: number | undefined;
    const refresh = () => {
      window.clearTimeout(pending);
      pending = window.setTimeout(() => loadRef.current(), 30);
    };
    const stop = connectSync(session, {
      onTaskChange: (change) => {
        // Show the change at once, then refetch (order, filters, totals).
        const list = tasksRef.current;
        const id = change.taskId;
        if (list && id) {
          const task = change.task as Task | null | undefined;
          const known = list.find((t) => t.id === id);
          // A created task shows at the top even when more pages exist
          // (pinned there until its own page is loaded); a change to a task
          // that is not loaded yet is left to its page.
          const created = (change.change ?? (change.version === 1 ? 'created' : 'updated')) === 'created';
          if (task === null) {
            pinnedRef.current.delete(id);
            setTasks(list.filter((t) => t.id !== id));
          } else if (task && known && (change.version ?? 0) >= known.version) {
            setTasks(list.map((t) => (t.id === id ? task : t)));
          } else if (task && !known && created && unfilteredRef.current && Date.parse(task.createdAt) > (newestRef.current ?? Infinity)) {
            pinnedRef.current.add(id);
            setTasks([task, ...list]);
          }
        }
        refresh();
      },
      onReset: () => {
        refresh();
        loadInbox();
      },
      onNotification: (n) => {
        const title = typeof n.title === 'string' ? n.title : 'a task';
        toast(`Reminder: ${title}`, 'reminder');
        loadInbox();
      },
      onStatus: setLive,
    });
    return () => {
      window.clearTimeout(pending);
      stop();
    };
  }, [session, loadInbox, toast]);

  /** Applies `change` locally at once; undoes it if the server refuses. */
  const optimistic = async (change: (list: Task[]) => Task[], call: () => Promise<unknown>, failure: string) => {
    const before = tasksRef.current ?? [];
    setTasks(change(before));
    try {
      await call();
    } catch (err) {
      setTasks(before);
      toast(`${failure}: ${err instanceof ApiError ? err.describe() : (err as Error).message}`, 'error');
      return;
    }
    load();
  };

  const setStatus = (task: Task, status: Task['status']) =>
    optimistic(
      (list) =>
        list
          .map((t) => (t.id === task.id ? { ...t, status, completedAt: status === 'completed' ? new Date().toISOString() : null } : t))
          .filter((t) => !filters.status || t.status === filters.status),
      () => (status === 'completed' ? api.complete(task.id) : api.reopen(task.id)),
      status === 'completed' ? 'Could not complete the task' : 'Could not reopen the task',
    );
  const remove = (task: Task) =>
    optimistic((list) => list.filter((t) => t.id !== task.id), () => api.remove(task.id), 'Could not delete the task').then(() =>
      toast(`Deleted “${task.title}”`),
    );

  const set = (key: keyof Filters) => (e: JSX.TargetedEvent<HTMLSelectElement>) => {
    historyMode.current = 'push';
    setFilters({ ...filters, q: search, [key]: e.currentTarget.value });
  };

  const countText =
    tasks === null
      ? 'Loading…'
      : more
        ? `Showing ${tasks.length} of ${total} tasks`
        : `${total} task${total === 1 ? '' : 's'}`;

  return (
    <div class="layout">
      <header class="topbar">
        <h1>Todo</h1>
        <span class={`live ${live}`} title="Live updates" aria-live="polite">
          {live === 'live' ? 'Live' : live === 'connecting' ? 'Connecting…' : 'Offline'}
        </span>
        <span class="spacer" />
        <button type="button" class="inbox-button" aria-expanded={inboxOpen} aria-controls="inbox" onClick={() => setInboxOpen(!inboxOpen)} aria-label={`Notifications (${inbox.unread} unread)`}>
          <svg aria-hidden="true" viewBox="0 0 24 24" width="20" height="20" fill="none" stroke="currentColor" stroke-width="2" stroke-linecap="round" stroke-linejoin="round">
            <path d="M6 8a6 6 0 0 1 12 0c0 7 3 9 3 9H3s3-2 3-9" />
            <path d="M10.3 21a1.94 1.94 0 0 0 3.4 0" />
          </svg>
          {inbox.unread > 0 && <span class="badge" data-testid="unread">{inbox.unread}</span>}
        </button>
        <SignedInAs state={state} />
        <button
          type="button"
          class="link"
          disabled={signingOut}
          onClick={() => {
            setSigningOut(true);
            session.logout();
          }}
        >
          Sign out
        </button>
      </header>

      <main class="content">
        <section class="toolbar" aria-label="Filters">
          <div class="field search">
            <label for="q">Search</label>
            <input id="q" type="search" placeholder="Words in title or description" value={search} onInput={(e) => setSearch(e.currentTarget.value)} />
          </div>
          <div class="field">
            <label for="f-status">Status</label>
            <select id="f-status" value={filters.status} onChange={set('status')}>
              <option value="">All</option>
              <option value="open">Open</option>
              <option value="completed">Completed</option>
            </select>
          </div>
          <div class="field">
            <label for="f-priority">Priority</label>
            <select id="f-priority" value={filters.priority} onChange={set('priority')}>
              <option value="">Any</option>
              {PRIORITIES.map((p) => <option value={p}>{cap(p)}</option>)}
            </select>
          </div>
          <div class="field">
            <label for="f-tag">Tag</label>
            <select id="f-tag" value={filters.tag} onChange={set('tag')}>
              <option value="">Any</option>
              {tags.map((t) => <option value={t.tag}>{t.tag} ({t.count})</option>)}
              {filters.tag && !tags.some((t) => t.tag === filters.tag) && <option value={filters.tag}>{filters.tag}</option>}
            </select>
          </div>
          <div class="field">
            <label for="f-sort">Sort</label>
            <select id="f-sort" value={filters.sort} onChange={set('sort')}>
              {SORTS.map(([v, l]) => <option value={v}>{l}</option>)}
            </select>
          </div>
          <button type="button" class="primary new" onClick={() => setEditing('new')}>New task</button>
        </section>

        <p class="count" id="count" aria-live="polite" aria-atomic="true">{countText}</p>
        <ul class="tasks" aria-label="Tasks" ref={listRef} aria-busy={loadingMore}>
          {tasks?.map((task) => (
            <TaskItem key={task.id} task={task} onStatus={setStatus} onEdit={setEditing} onDelete={remove} onHistory={setHistory} />
          ))}
        </ul>
        {tasks?.length === 0 && (
          <p class="empty">{isUnfiltered(filters) ? 'No tasks here. Create one with “New task”.' : 'No tasks match these filters.'}</p>
        )}
        {more && tasks && tasks.length > 0 && (
          <div class="more">
            <button type="button" onClick={loadMore} aria-describedby="count" aria-disabled={loadingMore}>
              {loadingMore ? 'Loading…' : 'Load more'}
            </button>
            <span class="more-note">
              {tasks.length} of {total} shown
            </span>
          </div>
        )}
      </main>

      {inboxOpen && (
        <Inbox
          inbox={inbox}
          onClose={() => setInboxOpen(false)}
          onRead={async (n) => {
            setInbox((i) => ({ items: i.items.map((x) => (x.id === n.id ? { ...x, read: true } : x)), unread: Math.max(0, i.unread - (n.read ? 0 : 1)) }));
            try {
              await api.markRead(n.id);
            } catch (err) {
              toast(`Could not mark as read: ${(err as Error).message}`, 'error');
            }
            loadInbox();
          }}
        />
      )}

      {editing && (
        <Editor
          api={api}
          task={editing === 'new' ? null : editing}
          onClose={() => setEditing(null)}
          onSaved={(t, created) => {
            setEditing(null);
            toast(created ? `Created “${t.title}”` : `Saved “${t.title}”`);
            // Shown at once, at the top, whatever page it belongs to.
            const list = tasksRef.current ?? [];
            if (created && unfilteredRef.current && !list.some((x) => x.id === t.id)) {
              pinnedRef.current.add(t.id);
              setTasks([t, ...list]);
            }
            load();
          }}
        />
      )}
      {history && <History api={api} task={history} onClose={() => setHistory(null)} />}

      <div class="toasts" role="status" aria-live="polite">
        {toasts.map((t) => (
          <div key={t.id} class={`toast ${t.kind}`}>{t.text}</div>
        ))}
      </div>
    </div>
  );
}

function TaskItem({ task, onStatus, onEdit, onDelete, onHistory }: {
  task: Task;
  onStatus: (t: Task, s: Task['status']) => void;
  onEdit: (t: Task) => void;
  onDelete: (t: Task) => void;
  onHistory: (t: Task) => void;
}) {
  const done = task.status === 'completed';
  const overdue = !done && task.dueAt && Date.parse(task.dueAt) < Date.now();
  return (
    <li class={`task ${done ? 'done' : ''}`} data-id={task.id} tabIndex={-1}>
      <input
        type="checkbox"
        class="check"
        checked={done}
        aria-label={`${done ? 'Reopen' : 'Complete'} ${task.title}`}
        onChange={() => onStatus(task, done ? 'open' : 'completed')}
      />
      <div class="body">
        <div class="title-row">
          <span class="title">{task.title}</span>
          {task.priority && <span class={`chip prio-${task.priority}`}>{task.priority}</span>}
        </div>
        {task.description && <p class="desc">{task.description}</p>}
        <div class="meta">
          {task.dueAt && (
            <span class={overdue ? 'overdue' : ''}>
              Due {formatInstant(task.dueAt)} ({relative(task.dueAt)})
            </span>
          )}
          {task.reminder && <span>Reminder {REMINDERS.find(([v]) => v === task.reminder?.before)?.[1] ?? task.reminder.before}</span>}
          {task.recurrence && <span>↻ repeats</span>}
          {task.tags?.map((t) => <span class="chip tag">#{t}</span>)}
        </div>
      </div>
      <div class="actions">
        <button type="button" onClick={() => onEdit(task)} aria-label={`Edit ${task.title}`}>Edit</button>
        <button type="button" onClick={() => onHistory(task)} aria-label={`History of ${task.title}`}>History</button>
        <button type="button" class="danger" onClick={() => onDelete(task)} aria-label={`Delete ${task.title}`}>Delete</button>
      </div>
    </li>
  );
}

function Modal({ title, onClose, children, wide }: { title: string; onClose: () => void; children: preact.ComponentChildren; wide?: boolean }) {
  const ref = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    const d = ref.current;
    if (d && !d.open) d.showModal();
  }, []);
  return (
    <dialog ref={ref} class={wide ? 'wide' : ''} aria-labelledby="dialog-title" onCancel={(e) => { e.preventDefault(); onClose(); }}>
      <div class="dialog-head">
        <h2 id="dialog-title">{title}</h2>
        <button type="button" class="link" onClick={onClose} aria-label="Close">✕</button>
      </div>
      {children}
    </dialog>
  );
}

function Editor({ api, task, onClose, onSaved }: { api: Api; task: Task | null; onClose: () => void; onSaved: (t: Task, created: boolean) => void }) {
  const zone = task?.timezone && task.timezone !== 'UTC' ? task.timezone : localZone();
  const wall = task?.dueAt ? instantToWall(task.dueAt, zone) : { date: '', time: '' };
  const [title, setTitle] = useState(task?.title ?? '');
  const [description, setDescription] = useState(task?.description ?? '');
  const [priority, setPriority] = useState<Priority>(task?.priority ?? 'medium');
  const [tags, setTags] = useState((task?.tags ?? []).join(', '));
  const [date, setDate] = useState(wall.date);
  const [time, setTime] = useState(wall.time);
  const [before, setBefore] = useState(task?.reminder?.before ?? '');
  const [channels, setChannels] = useState<Channel[]>(task?.reminder?.channels ?? ['inbox']);
  const [rule, setRule] = useState<Rule>(() => fromRrule(task?.recurrence?.rrule, task?.recurrence?.from ?? 'due'));
  const [preview, setPreview] = useState<{ dates?: string[]; error?: string } | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const dueAt = date ? wallToInstant(date, time || '09:00', zone) : null;
  const rrule = toRrule(rule);

  useEffect(() => {
    if (!rrule) {
      setPreview(null);
      return;
    }
    const t = window.setTimeout(async () => {
      try {
        const r = await api.preview(rrule, dueAt ?? new Date().toISOString().replace(/\.\d+Z$/, 'Z'), zone);
        setPreview({ dates: r.dates });
      } catch (err) {
        setPreview({ error: err instanceof ApiError ? err.describe() : (err as Error).message });
      }
    }, 200);
    return () => window.clearTimeout(t);
  }, [api, rrule, dueAt, zone]);

  const submit = async (e: Event) => {
    e.preventDefault();
    setError(null);
    if (before && !dueAt) {
      setError('A reminder needs a due date.');
      return;
    }
    const body: Record<string, unknown> = {
      title: title.trim(),
      description: description.trim() || null,
      priority,
      tags: tags.split(',').map((t) => t.trim()).filter(Boolean),
      dueAt,
      timezone: zone,
      reminder: before ? { before, channels: channels.length ? channels : ['inbox'] } : null,
      recurrence: rrule ? { rrule, from: rule.from } : null,
    };
    setBusy(true);
    try {
      if (task) {
        onSaved(await api.patchTask(task.id, body), false);
      } else {
        for (const k of Object.keys(body)) if (body[k] === null) delete body[k];
        onSaved(await api.createTask(body as Partial<Task>), true);
      }
    } catch (err) {
      setError(err instanceof ApiError ? err.describe() : (err as Error).message);
    } finally {
      setBusy(false);
    }
  };

  const patchRule = (p: Partial<Rule>) => setRule({ ...rule, ...p });
  const toggle = <T,>(list: T[], v: T) => (list.includes(v) ? list.filter((x) => x !== v) : [...list, v]);

  return (
    <Modal title={task ? 'Edit task' : 'New task'} onClose={onClose} wide>
      <form class="editor" onSubmit={submit}>
        <label for="e-title">Title</label>
        <input id="e-title" value={title} onInput={(e) => setTitle(e.currentTarget.value)} required maxLength={200} autoFocus />
        <label for="e-desc">Description</label>
        <textarea id="e-desc" rows={3} value={description} onInput={(e) => setDescription(e.currentTarget.value)} maxLength={5000} />
        <div class="row">
          <div class="field">
            <label for="e-priority">Priority</label>
            <select id="e-priority" value={priority} onChange={(e) => setPriority(e.currentTarget.value as Priority)}>
              {PRIORITIES.map((p) => <option value={p}>{cap(p)}</option>)}
            </select>
          </div>
          <div class="field grow">
            <label for="e-tags">Tags (comma separated)</label>
            <input id="e-tags" value={tags} onInput={(e) => setTags(e.currentTarget.value)} placeholder="work, home" />
          </div>
        </div>
        <div class="row">
          <div class="field">
            <label for="e-date">Due date</label>
            <input id="e-date" type="date" value={date} onInput={(e) => setDate(e.currentTarget.value)} />
          </div>
          <div class="field">
            <label for="e-time">Due time</label>
            <input id="e-time" type="time" step={1} value={time} onInput={(e) => setTime(e.currentTarget.value)} disabled={!date} />
          </div>
          <p class="hint">Times are in {zone}.</p>
        </div>
        <div class="row">
          <div class="field">
            <label for="e-reminder">Reminder</label>
            <select id="e-reminder" value={before} onChange={(e) => setBefore(e.currentTarget.value)}>
              {REMINDERS.map(([v, l]) => <option value={v}>{l}</option>)}
              {before && !REMINDERS.some(([v]) => v === before) && <option value={before}>{before}</option>}
            </select>
          </div>
          {before && (
            <fieldset class="inline">
              <legend>Notify by</legend>
              {(['inbox', 'email', 'webhook'] as Channel[]).map((c) => (
                <label class="check-label">
                  <input type="checkbox" checked={channels.includes(c)} onChange={() => setChannels(toggle(channels, c))} /> {cap(c)}
                </label>
              ))}
            </fieldset>
          )}
        </div>

        <fieldset class="recurrence">
          <legend>Repeat</legend>
          <div class="row">
            <div class="field">
              <label for="e-freq">Frequency</label>
              <select id="e-freq" value={rule.freq} onChange={(e) => patchRule({ freq: e.currentTarget.value as Rule['freq'] })}>
                <option value="none">Does not repeat</option>
                <option value="daily">Daily</option>
                <option value="weekly">Weekly</option>
                <option value="monthly">Monthly</option>
                <option value="interval">Every N days</option>
              </select>
            </div>
            {rule.freq === 'interval' && (
              <div class="field">
                <label for="e-interval">Every … days</label>
                <input id="e-interval" type="number" min={1} max={365} value={rule.interval} onInput={(e) => patchRule({ interval: Number(e.currentTarget.value) })} />
              </div>
            )}
            {rule.freq !== 'none' && (
              <>
                <div class="field">
                  <label for="e-end">Ends</label>
                  <select id="e-end" value={rule.end} onChange={(e) => patchRule({ end: e.currentTarget.value as Rule['end'] })}>
                    <option value="never">Never</option>
                    <option value="until">On date</option>
                    <option value="count">After a number of times</option>
                  </select>
                </div>
                {rule.end === 'until' && (
                  <div class="field">
                    <label for="e-until">End date</label>
                    <input id="e-until" type="date" value={rule.until} onInput={(e) => patchRule({ until: e.currentTarget.value })} />
                  </div>
                )}
                {rule.end === 'count' && (
                  <div class="field">
                    <label for="e-count">Occurrences</label>
                    <input id="e-count" type="number" min={1} max={1000} value={rule.count} onInput={(e) => patchRule({ count: Number(e.currentTarget.value) })} />
                  </div>
                )}
                <div class="field">
                  <label for="e-from">Next date from</label>
                  <select id="e-from" value={rule.from} onChange={(e) => patchRule({ from: e.currentTarget.value as Rule['from'] })}>
                    <option value="due">The due date</option>
                    <option value="completion">Completion</option>
                  </select>
                </div>
              </>
            )}
          </div>
          {rule.freq === 'weekly' && (
            <fieldset class="inline days">
              <legend>On</legend>
              {WEEKDAYS.map((d) => (
                <label class="check-label">
                  <input type="checkbox" checked={rule.days.includes(d)} onChange={() => patchRule({ days: toggle(rule.days, d) })} /> {WEEKDAY_NAMES[d]}
                </label>
              ))}
            </fieldset>
          )}
          {rrule && (
            <div class="preview" aria-live="polite">
              <div>Rule: <code>{rrule}</code></div>
              {preview?.dates && (
                <>
                  <div>Next dates:</div>
                  <ol>{preview.dates.map((d) => <li>{formatInstant(d, zone)}</li>)}</ol>
                </>
              )}
              {preview?.error && <p class="error">{preview.error}</p>}
            </div>
          )}
        </fieldset>

        {error && <p class="error" role="alert">{error}</p>}
        <div class="buttons">
          <button type="button" onClick={onClose}>Cancel</button>
          <button type="submit" class="primary" disabled={busy}>{task ? 'Save' : 'Create'}</button>
        </div>
      </form>
    </Modal>
  );
}

function History({ api, task, onClose }: { api: Api; task: Task; onClose: () => void }) {
  const [entries, setEntries] = useState<AuditEntry[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    api.history(task.id).then(setEntries, (e) => setError((e as Error).message));
  }, [api, task.id]);
  return (
    <Modal title={`History: ${task.title}`} onClose={onClose}>
      {error && <p class="error">{error}</p>}
      {!entries && !error && <p>Loading…</p>}
      <ol class="history">
        {entries?.map((e) => (
          <li>
            <strong>{e.type.replace(/^todo\.task\.|\.v\d+$/g, '')}</strong> <time dateTime={e.at}>{formatInstant(e.at)}</time>
            {e.changes.length > 0 && (
              <ul>
                {e.changes.map((c) => (
                  <li>
                    <code>{c.field}</code>: {show(c.from)} → {show(c.to)}
                  </li>
                ))}
              </ul>
            )}
          </li>
        ))}
      </ol>
      {entries?.length === 0 && <p>No history yet (it appears a moment after a change).</p>}
    </Modal>
  );
}

function Inbox({ inbox, onClose, onRead }: { inbox: { items: Notification[]; unread: number }; onClose: () => void; onRead: (n: Notification) => void }) {
  return (
    <aside id="inbox" class="inbox" aria-label="Notifications">
      <div class="dialog-head">
        <h2>Notifications</h2>
        <button type="button" class="link" onClick={onClose} aria-label="Close notifications">✕</button>
      </div>
      {inbox.items.length === 0 && <p class="empty">Nothing yet.</p>}
      <ul>
        {inbox.items.map((n) => (
          <li class={n.read ? 'read' : 'unread'}>
            <div>
              <strong>{n.title}</strong>
              <div class="meta">Reminder · {formatInstant(n.remindAt)}{n.dueAt ? ` · due ${formatInstant(n.dueAt)}` : ''}</div>
            </div>
            {!n.read && <button type="button" onClick={() => onRead(n)} aria-label={`Mark ${n.title} as read`}>Mark read</button>}
          </li>
        ))}
      </ul>
    </aside>
  );
}

const cap = (s: string) => s.charAt(0).toUpperCase() + s.slice(1);
const show = (v: unknown) => (v === null || v === undefined ? '—' : typeof v === 'string' ? v : JSON.stringify(v));

render(<App />, document.getElementById('app')!);
