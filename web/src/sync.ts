// Live updates: `GET /api/sync/stream` as Server-Sent Events. EventSource
// reconnects by itself with `Last-Event-ID` after the server ends a stream
// (its `retry:` hint); when the browser gives up (the connection failed
// hard, readyState CLOSED) we reopen with `?since=<last id>` and a growing
// delay, so no change is missed. A `reset` means our cursor is older than
// retention: refetch everything.

export interface SyncHandlers {
  /** `data` of a `todo.sync.task-changed.v1` change: `{taskId, version, change, task}` (`task` null on delete). */
  onTaskChange: (data: { taskId?: string; version?: number; change?: string; task?: Record<string, unknown> | null }) => void;
  onNotification: (notification: Record<string, unknown>) => void;
  onReset: () => void;
  onStatus: (status: 'live' | 'connecting' | 'offline') => void;
}

export function connectSync(token: string, handlers: SyncHandlers): () => void {
  let source: EventSource | null = null;
  let lastId: string | null = null;
  let delay = 500;
  let timer: number | undefined;
  let stopped = false;

  const open = () => {
    if (stopped) return;
    handlers.onStatus('connecting');
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
        timer = window.setTimeout(open, delay);
        delay = Math.min(delay * 2, 15_000);
      } else {
        handlers.onStatus('connecting');
      }
    };
  };
  open();
  return () => {
    stopped = true;
    window.clearTimeout(timer);
    source?.close();
  };
}
