// The session: signing up, in and out with the identity component
// (`/api/auth/*`), and the access token every API call and the live stream
// carry.
//
// - The access token lives in this object's memory only, never in
//   localStorage or sessionStorage (a script injected into the page could
//   read those). After a reload the HttpOnly refresh cookie (`Path=/api/auth`)
//   brings the session back: `restore()` calls `POST /api/auth/refresh`.
// - A timer refreshes the token `REFRESH_MARGIN_MS` before it expires; a
//   page coming back to the foreground, or a request about to leave with an
//   expired token, refreshes at once; a 401 from the API is refreshed and the
//   request retried once.
// - Refresh tokens rotate, and the server takes a second use of one as theft
//   and ends the whole sign-in. So there is never more than one refresh in
//   flight: every caller in the page shares one promise, and the tabs of
//   this origin (which share the cookie) take turns through the Web Locks
//   API, so the second one sends the cookie the first one got back.
// - Listeners hear about every new token (sync.ts reopens its EventSource
//   with the new `?access_token=`) and every change of state (signed in,
//   signed out and why).
// - Developer tokens (`devstack token`, pasted into the form that only
//   devstack's page offers, see `developerTokensOffered`) cannot be
//   refreshed: a 401 ends them. They are kept in sessionStorage, this tab
//   only, so a reload keeps a developer signed in; nothing else is stored.

import { ApiError, readJson, tokenSubject } from './api';
import type { Authorizer } from './api';

export interface Account {
  id: string;
  email: string;
  name: string;
  createdAt: string;
}

export type SessionState =
  | { status: 'restoring' }
  /** `notice`: why the user is signed out now (announced on the sign-in page). */
  | { status: 'signed-out'; notice?: string }
  /** `account` comes from `GET /api/auth/me` (null until it answers; `email` is what was typed meanwhile). */
  | { status: 'signed-in'; kind: 'account'; account: Account | null; email?: string }
  | { status: 'signed-in'; kind: 'developer'; subject: string | null };

/** How long before its expiry the access token is refreshed. */
export const REFRESH_MARGIN_MS = 60_000;
/** A refresh that failed without an answer (network, 5xx) is tried again after this long. */
const RETRY_MS = 10_000;
/** A refresh request that takes longer is given up (and retried): the lock must not be held forever. */
const REFRESH_TIMEOUT_MS = 15_000;
const DEV_TOKEN_KEY = 'todo.devToken';
/** Where the old paste-a-token page kept its token: removed on start. */
const LEGACY_TOKEN_KEY = 'todo.token';
const LOCK_NAME = 'todo.auth.refresh';
const CHANNEL_NAME = 'todo.auth';

export const SESSION_ENDED = 'Your session has ended. Sign in again.';
export const TOKEN_REFUSED = 'This token was not accepted (expired or not signed by this server).';

/**
 * Whether the page offers the "developer token" form: only when it is served
 * by devstack. The page cannot ask devstack directly, so the rule is the
 * host: a loopback address (`localhost`, `127.0.0.1`, `[::1]`) is a
 * developer's machine — devstack's gateway, or `npm run dev` proxying to it —
 * while every deployment is reached under a real host name through the
 * ingress. It is the same loopback rule identity uses to leave `Secure` off
 * the refresh cookie. It hides a convenience, nothing more: a pasted token
 * is still verified by the server on every request.
 */
export function developerTokensOffered(hostname: string = location.hostname): boolean {
  const host = hostname.toLowerCase();
  return host === 'localhost' || host === '127.0.0.1' || host === '[::1]' || host === '::1';
}

interface TokenAnswer {
  accessToken: string;
  expiresIn: number;
}

type Listener<T> = (value: T) => void;

export class Session implements Authorizer {
  private accessToken: string | null = null;
  private kind: 'account' | 'developer' | null = null;
  /** Epoch ms when `accessToken` expires (as the server said, measured on our clock). */
  private expiresAt = 0;
  private timer: number | undefined;
  private inflight: Promise<string | null> | null = null;
  /** Bumped on every sign-in and sign-out: answers to requests of an older session are dropped. */
  private epoch = 0;
  private current: SessionState = { status: 'restoring' };
  private readonly stateListeners = new Set<Listener<SessionState>>();
  private readonly tokenListeners = new Set<Listener<string | null>>();
  private readonly channel: BroadcastChannel | null =
    typeof BroadcastChannel === 'function' ? new BroadcastChannel(CHANNEL_NAME) : null;

  constructor() {
    // A sign-out in another tab ends the session here too (the cookie is gone).
    this.channel?.addEventListener('message', (e) => {
      if (e.data === 'signed-out' && this.kind === 'account') this.end('You signed out in another tab.');
    });
    // Timers are slowed down in background tabs and stop while the machine
    // sleeps: catch up when the page is looked at again.
    document.addEventListener('visibilitychange', () => {
      if (document.visibilityState === 'visible' && this.needsRefresh()) this.refresh().catch(() => {});
    });
  }

  get state(): SessionState {
    return this.current;
  }

  /** The current access token (null when signed out). */
  get token(): string | null {
    return this.accessToken;
  }

  onState(listener: Listener<SessionState>): () => void {
    this.stateListeners.add(listener);
    return () => this.stateListeners.delete(listener);
  }

  /** Called with every new access token (a refresh, a sign-in) and with null on sign-out. */
  onToken(listener: Listener<string | null>): () => void {
    this.tokenListeners.add(listener);
    return () => this.tokenListeners.delete(listener);
  }

  /** On start: a developer token of this tab, else the refresh cookie (if any) signs in. */
  async restore(): Promise<void> {
    localStorage.removeItem(LEGACY_TOKEN_KEY);
    const dev = developerTokensOffered() ? sessionStorage.getItem(DEV_TOKEN_KEY) : null;
    if (dev) {
      this.startDeveloper(dev);
      return;
    }
    try {
      // No cookie (never signed in, or signed out) → 401 → signed out.
      if (await this.refresh()) await this.loadAccount();
    } catch {
      if (this.current.status === 'restoring') {
        this.setState({ status: 'signed-out', notice: 'The server could not be reached to restore your session. Sign in again.' });
      }
    }
  }

  /** `POST /api/auth/login`; throws `ApiError` (401 wrong credentials, 429 with `retryAfter`). */
  async login(email: string, password: string): Promise<void> {
    const response = await fetch('/api/auth/login', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
      body: JSON.stringify({ email, password }),
      credentials: 'same-origin',
      cache: 'no-store',
    });
    const answer = await readJson<TokenAnswer>(response);
    this.epoch++;
    this.kind = 'account';
    sessionStorage.removeItem(DEV_TOKEN_KEY);
    this.accept(answer);
    this.setState({ status: 'signed-in', kind: 'account', account: null, email });
    await this.loadAccount();
  }

  /** `POST /api/auth/signup` (does not sign in); throws `ApiError` (409 taken, 422 field errors). */
  async signUp(email: string, password: string, name: string): Promise<Account> {
    const response = await fetch('/api/auth/signup', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
      body: JSON.stringify({ email, password, name }),
      credentials: 'same-origin',
    });
    return readJson<Account>(response);
  }

  /** Signs in with a pasted token (devstack), after checking the API accepts it. */
  async useDeveloperToken(token: string): Promise<void> {
    const response = await fetch('/api/tasks?limit=1', {
      headers: { Authorization: `Bearer ${token}`, Accept: 'application/json' },
    });
    await readJson<unknown>(response);
    this.startDeveloper(token);
  }

  /** `POST /api/auth/logout` (the cookie's sign-in ends everywhere), then signed out. */
  async logout(): Promise<void> {
    const wasAccount = this.kind === 'account';
    // A refresh still running would otherwise bring a token back after this.
    await this.inflight?.catch(() => null);
    this.drop();
    sessionStorage.removeItem(DEV_TOKEN_KEY);
    if (wasAccount) {
      try {
        await fetch('/api/auth/logout', { method: 'POST', credentials: 'same-origin', cache: 'no-store' });
      } catch {
        /* signed out here anyway; the cookie's sign-in expires on its own */
      }
      this.channel?.postMessage('signed-out');
    }
    this.setState({ status: 'signed-out', notice: 'You have signed out.' });
  }

  /**
   * A new access token from the refresh cookie. Never two at once: callers
   * share the running refresh. With `stale` (the token a request was refused
   * with), a token that has been replaced since is answered without asking
   * again. Resolves null when the session has ended (the state says why);
   * rejects when the server could not answer (the session goes on, retried).
   */
  refresh(stale?: string): Promise<string | null> {
    if (this.inflight) return this.inflight;
    if (stale !== undefined && this.accessToken && this.accessToken !== stale) return Promise.resolve(this.accessToken);
    const epoch = this.epoch;
    const run = () => this.refreshNow(epoch);
    const locks = typeof navigator !== 'undefined' ? navigator.locks : undefined;
    const attempt = (locks ? locks.request(LOCK_NAME, run) : run()) as Promise<string | null>;
    const shared = attempt
      .catch((err) => {
        if (epoch === this.epoch && this.kind === 'account') this.schedule(RETRY_MS);
        throw err;
      })
      .finally(() => {
        if (this.inflight === shared) this.inflight = null;
      });
    this.inflight = shared;
    return shared;
  }

  /**
   * `fetch` with the bearer token (the API's `Authorizer`): refreshed first
   * when expired; a 401 is refreshed and retried once; a 401 that remains
   * ends the session.
   */
  async fetch(path: string, init: RequestInit): Promise<Response> {
    let token = this.accessToken;
    if (this.needsRefresh(0)) token = await this.refresh().catch(() => token);
    if (!token) throw new ApiError(401, { title: 'Unauthorized', detail: 'You are signed out.' });
    const epoch = this.epoch;
    let response = await fetch(path, withBearer(init, token));
    if (response.status !== 401 || epoch !== this.epoch) return response;
    if (this.kind === 'account') {
      let fresh: string | null;
      try {
        fresh = await this.refresh(token);
      } catch {
        return response; // no answer from identity: the caller reports this 401, the retry timer goes on
      }
      if (!fresh) return response; // the session has ended
      response = await fetch(path, withBearer(init, fresh));
      if (response.status !== 401 || epoch !== this.epoch) return response;
    }
    this.end(this.kind === 'developer' ? TOKEN_REFUSED : SESSION_ENDED);
    return response;
  }

  /** The current token, refreshed first when it expires within the margin (sync.ts, before reconnecting). */
  async fresh(): Promise<string | null> {
    if (this.needsRefresh()) {
      try {
        return await this.refresh();
      } catch {
        return this.accessToken;
      }
    }
    return this.accessToken;
  }

  private async refreshNow(epoch: number): Promise<string | null> {
    const response = await fetch('/api/auth/refresh', {
      method: 'POST',
      credentials: 'same-origin',
      cache: 'no-store',
      signal: AbortSignal.timeout(REFRESH_TIMEOUT_MS),
    });
    if (epoch !== this.epoch) return this.accessToken; // signed out or in again meanwhile
    if (response.status === 401) {
      this.end(this.current.status === 'signed-in' ? SESSION_ENDED : undefined);
      return null;
    }
    const answer = await readJson<TokenAnswer>(response);
    if (epoch !== this.epoch) return this.accessToken;
    this.kind = 'account';
    this.accept(answer);
    return answer.accessToken;
  }

  /** `GET /api/auth/me` → the signed-in state with the account (kept without it if that fails). */
  private async loadAccount(): Promise<void> {
    const epoch = this.epoch;
    let account: Account | null = null;
    try {
      account = await readJson<Account>(await this.fetch('/api/auth/me', { headers: { Accept: 'application/json' } }));
    } catch {
      /* the header shows the typed address instead */
    }
    if (epoch !== this.epoch || this.kind !== 'account') return;
    const email = this.current.status === 'signed-in' && this.current.kind === 'account' ? this.current.email : undefined;
    this.setState({ status: 'signed-in', kind: 'account', account, email: account?.email ?? email });
  }

  private startDeveloper(token: string) {
    this.epoch++;
    window.clearTimeout(this.timer);
    this.kind = 'developer';
    this.accessToken = token;
    this.expiresAt = Infinity; // not refreshable: the server's 401 decides
    sessionStorage.setItem(DEV_TOKEN_KEY, token);
    this.emitToken(token);
    this.setState({ status: 'signed-in', kind: 'developer', subject: tokenSubject(token) });
  }

  /** Takes a new access token and schedules its refresh. */
  private accept({ accessToken, expiresIn }: TokenAnswer) {
    const lifetime = Math.max(0, Number(expiresIn) || 0) * 1000;
    this.accessToken = accessToken;
    this.expiresAt = Date.now() + lifetime;
    // A short-lived token is refreshed half-way instead.
    this.schedule(lifetime - Math.min(REFRESH_MARGIN_MS, lifetime / 2));
    this.emitToken(accessToken);
  }

  private schedule(ms: number) {
    window.clearTimeout(this.timer);
    this.timer = window.setTimeout(() => this.refresh().catch(() => {}), Math.max(0, ms));
  }

  /** Whether the account token expires within `margin` ms (or is missing). */
  private needsRefresh(margin = REFRESH_MARGIN_MS): boolean {
    return this.kind === 'account' && (!this.accessToken || this.expiresAt - Date.now() <= margin);
  }

  /** Forgets the token (no request). */
  private drop() {
    this.epoch++;
    window.clearTimeout(this.timer);
    this.kind = null;
    this.accessToken = null;
    this.expiresAt = 0;
    this.emitToken(null);
  }

  /** The session is over (refused, revoked, signed out elsewhere): back to sign-in, saying why. */
  private end(notice?: string) {
    this.drop();
    sessionStorage.removeItem(DEV_TOKEN_KEY);
    this.setState({ status: 'signed-out', notice });
  }

  private setState(state: SessionState) {
    this.current = state;
    for (const l of [...this.stateListeners]) l(state);
  }

  private emitToken(token: string | null) {
    for (const l of [...this.tokenListeners]) l(token);
  }
}

function withBearer(init: RequestInit, token: string): RequestInit {
  return { ...init, headers: { ...(init.headers as Record<string, string> | undefined), Authorization: `Bearer ${token}` } };
}
