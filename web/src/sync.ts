// Live updates: `GET /api/sync/stream` as Server-Sent Events. EventSource
// reconnects by itself with `Last-Event-ID` after the server ends a stream
// (its `retry:` hint); when the browser gives up (the connection failed
// hard, readyState CLOSED) we reopen with `?since=<last id>` and a growing
// delay, so no change is missed. A `reset` means our cursor is older than
// retention: refetch everything.
//
// The stream is authorised by `?access_token=` (EventSource cannot send
// headers). Whenever the session gets a new token (a silent refresh) the
// stream is reopened with it from the last id, so it never runs on an
// expired token; after a hard failure the token is refreshed first when it
// is about to expire (an expired token is what a 401 would have meant).

export interface SyncHandlers {
  /** `data` of a `todo.sync.task-changed.v1` change: `{taskId, version, change, task}` (`task` null on delete). */
  onTaskChange: (data: { taskId?: string; version?: number; change?: string; task?: Record<string, unknown> | null }) => void;
  onNotification: (notification: Record<string, unknown>) => void;
  onReset: () => void;
  onStatus: (status: 'live' | 'connecting' | 'offline') => void;
}

/** Where the stream's token comes from (auth.ts `Session`). */
export interface TokenSource {
  readonly token: string | null;
  /** Called with every new token (null: signed out). */
  onToken(listener: (token: string | null) => void): () => void;
  /** The token, refreshed first when it is about to expire. */
  fresh(): Promise<string | null>;
}

export function connectSync(auth: TokenSource, handlers: SyncHandlers): () => void {
  let source: EventSource | null = null;
  let lastId: string | null = null;
  /** The token the open stream was opened with. */
  let openedWith: string | null = null;
  let delay = 500;
  let timer: number | undefined;
  let stopped = false;

  const open = () => {
    window.clearTimeout(timer);
    const token = auth.token;
    if (stopped || !token) return;
    handlers.onStatus('connecting');
    openedWith = token;
    const q = new URLSearchParams({ access_token: token });
    if (lastId) q.set('since', lastId);
    const es = new EventSource(`/api/sync/stream?${q}`);
    source = es;
    const remember = (e: MessageEvent) => {
      if (e.lastEventId) lastId = e.lastEventId;
    };
    es.addEventListener('ready', (e) => {
      remember(e as MessageEvent);
      delay = 500;
      handlers.onStatus('live');
    });
    es.addEventListener('reset', (e) => {
      remember(e as MessageEvent);
      handlers.onReset();
    });
    es.addEventListener('todo.sync.task-changed.v1', (e) => {
      const message = e as MessageEvent;
      remember(message);
      let data = {};
      try {
        data = JSON.parse(message.data)?.data ?? {};
      } catch {
        /* refetch anyway */
      }
      handlers.onTaskChange(data);
    });
    es.addEventListener('todo.sync.notification.v1', (e) => {
      const message = e as MessageEvent;
      remember(message);
      try {
        const change = JSON.parse(message.data);
        handlers.onNotification(change?.data?.notification ?? {});
      } catch {
        handlers.onNotification({});
      }
    });
    es.onerror = () => {
      if (es.readyState === EventSource.CLOSED) {
        handlers.onStatus('offline');
        es.close();
        timer = window.setTimeout(() => auth.fresh().then(open, open), delay);
        delay = Math.min(delay * 2, 15_000);
      } else {
        handlers.onStatus('connecting');
      }
    };
  };
  const unsubscribe = auth.onToken((token) => {
    if (stopped) return;
    if (!token) {
      window.clearTimeout(timer);
      source?.close();
      openedWith = null;
    } else if (token !== openedWith) {
      // A new token: continue from the last id on a stream opened with it.
      source?.close();
      open();
    }
  });
  open();
  return () => {
    stopped = true;
    unsubscribe();
    window.clearTimeout(timer);
    source?.close();
  };
}
