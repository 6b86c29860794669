// Browser tests of the web UI against a running devstack (scripts/ui-test
// starts one and sets the environment). Playwright (playwright-core: no
// browser download) drives Debian's Chromium.
//
//   TODO_BASE_URL   the gateway, e.g. http://127.0.0.1:3000
//   TODO_TOKEN_A/B  tokens of two different users
//   CHROMIUM        the browser binary (default /usr/bin/chromium)
//   UI_SCREENSHOTS  where the screenshots go
//   WEB_WASM        the web component (its size is reported)

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

const BASE = process.env.TODO_BASE_URL ?? 'http://127.0.0.1:3000';
const TOKEN_A = need('TODO_TOKEN_A');
const TOKEN_B = need('TODO_TOKEN_B');
const SHOTS = process.env.UI_SCREENSHOTS ?? 'test-results/screenshots';
mkdirSync(SHOTS, { recursive: true });

function need(name) {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set (run scripts/ui-test)`);
  return v;
}

let browser;
let userDataDir;
const DESKTOP = { viewport: { width: 1280, height: 860 } };
const PHONE = { viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true };

before(async () => {
  // A fresh, throwaway profile: Playwright's launch() always creates one in a
  // temp directory (it refuses --user-data-dir; that is launchPersistentContext),
  // and every newContext() is isolated from the others within it. TMPDIR
  // points it at our own directory, removed afterwards.
  userDataDir = mkdtempSync(join(tmpdir(), 'todo-ui-chromium-'));
  process.env.TMPDIR = userDataDir;
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    args: [
      '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
    ],
  });
});

after(async () => {
  await browser?.close();
  if (userDataDir) rmSync(userDataDir, { recursive: true, force: true });
});

/** A signed-in page in a fresh context (its own storage: a separate session). */
async function signedIn(token, options = DESKTOP, path = '/') {
  const context = await browser.newContext({ ...options, timezoneId: 'Europe/Berlin', locale: 'en-GB' });
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  page.on('console', (m) => {
    // CSP violations are console errors: the page must not cause any.
    if (m.type() === 'error' && /Content Security Policy/i.test(m.text())) errors.push(m.text());
  });
  await page.goto(BASE + path);
  await page.getByLabel('Access token').fill(token);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('button', { name: 'New task' }).waitFor();
  await page.locator('.live.live').waitFor({ timeout: 10_000 });
  return { context, page, errors };
}

const taskItem = (page, title) => page.locator('li.task', { has: page.locator('.title', { hasText: new RegExp(`^${escape(title)}$`) }) });
const escape = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

async function createTask(page, { title, description, priority, tags, date, time, reminder }) {
  await page.getByRole('button', { name: 'New task' }).click();
  const dialog = page.getByRole('dialog');
  await dialog.getByLabel('Title').fill(title);
  if (description) await dialog.getByLabel('Description').fill(description);
  if (priority) await dialog.getByLabel('Priority').selectOption(priority);
  if (tags) await dialog.getByLabel('Tags (comma separated)').fill(tags);
  if (date) await dialog.getByLabel('Due date').fill(date);
  if (time) await dialog.getByLabel('Due time').fill(time);
  if (reminder) await dialog.getByLabel('Reminder').selectOption(reminder);
  await dialog.getByRole('button', { name: 'Create' }).click();
  await dialog.waitFor({ state: 'detached' });
  await taskItem(page, title).waitFor();
}

async function api(token, method, path, body) {
  const r = await fetch(BASE + path, {
    method,
    headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: r.status, body: r.status === 204 ? null : await r.json() };
}

/** `YYYY-MM-DD` and `HH:MM:SS` of `ms` in Europe/Berlin. */
function berlin(ms) {
  const f = new Intl.DateTimeFormat('sv-SE', {
    timeZone: 'Europe/Berlin', year: 'numeric', month: '2-digit', day: '2-digit',
    hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23',
  }).format(new Date(ms));
  const [date, time] = f.split(' ');
  return { date, time };
}

test('the page is served with strict headers, compressed', async () => {
  const r = await fetch(BASE + '/', { headers: { 'Accept-Encoding': 'gzip' } });
  assert.equal(r.status, 200);
  assert.match(r.headers.get('content-security-policy'), /script-src 'self'/);
  assert.doesNotMatch(r.headers.get('content-security-policy'), /unsafe/);
  assert.equal(r.headers.get('cache-control'), 'no-cache');
  assert.ok(r.headers.get('etag'));
  const html = await r.text();
  const assets = [...html.matchAll(/(?:src|href)="(\/assets\/[^"]+)"/g)].map((m) => m[1]);
  assert.ok(assets.length >= 2, 'script and stylesheet');
  // The gateway hides Dapr-only routes and everything not under / or /assets/.
  for (const hidden of ['/internal/outbox-sweep', '/events/audit/task-events', '/job/x', '/index.html']) {
    assert.equal((await fetch(BASE + hidden)).status, 404, hidden);
  }
  // Transferred size of the page (gzip), as a browser fetches it.
  let bytes = 0;
  let raw = 0;
  for (const path of ['/', ...assets]) {
    const res = await fetch(BASE + path, { headers: { 'Accept-Encoding': 'gzip' } });
    if (path !== '/') {
      assert.equal(res.headers.get('content-encoding'), 'gzip', path);
      assert.match(res.headers.get('cache-control'), /immutable/);
    }
    // fetch decompresses: measure the wire bytes with a raw request instead.
    raw += (await res.arrayBuffer()).byteLength;
    bytes += await wireSize(path);
  }
  const wasm = process.env.WEB_WASM ? statSync(process.env.WEB_WASM).size : 0;
  console.log(`SIZE page: ${bytes} bytes transferred (gzip), ${raw} bytes uncompressed; web.wasm: ${wasm} bytes`);
});

async function wireSize(path) {
  const { request } = await import('node:http');
  return new Promise((resolve, reject) => {
    const req = request(BASE + path, { headers: { 'Accept-Encoding': 'gzip' } }, (res) => {
      let n = 0;
      res.on('data', (c) => (n += c.length));
      res.on('end', () => resolve(n));
    });
    req.on('error', reject);
    req.end();
  });
}

test('create, filter, search, edit, complete and delete a task through the UI', async () => {
  const { context, page, errors } = await signedIn(TOKEN_A);
  await page.screenshot({ path: join(SHOTS, 'desktop-empty.png') });
  await createTask(page, { title: 'Buy oat milk', description: 'The barista kind', priority: 'high', tags: 'home, errands' });
  await createTask(page, { title: 'Write report', description: 'Quarterly numbers', priority: 'low', tags: 'work', date: '2030-03-04', time: '09:30' });
  await createTask(page, { title: 'Call the plumber', priority: 'urgent', tags: 'home', date: '2030-01-02', time: '08:00' });
  // Due date in the user's zone (Europe/Berlin, UTC+1 in March).
  const list = await api(TOKEN_A, 'GET', '/api/tasks?q=report');
  assert.equal(list.body.items[0].dueAt, '2030-03-04T08:30:00Z');
  assert.equal(list.body.items[0].timezone, 'Europe/Berlin');

  // Filter by priority, then tag; search.
  await page.getByLabel('Priority', { exact: true }).selectOption('high');
  await page.locator('.count', { hasText: '1 task' }).waitFor();
  assert.deepEqual(await page.locator('li.task .title').allTextContents(), ['Buy oat milk']);
  await page.getByLabel('Priority', { exact: true }).selectOption('');
  await page.getByLabel('Tag').selectOption('home');
  await page.locator('.count', { hasText: '2 tasks' }).waitFor();
  assert.deepEqual((await page.locator('li.task .title').allTextContents()).sort(), ['Buy oat milk', 'Call the plumber']);
  await page.getByLabel('Tag').selectOption('');
  await page.getByLabel('Search').fill('quarterly');
  await page.locator('.count', { hasText: '1 task' }).waitFor();
  assert.deepEqual(await page.locator('li.task .title').allTextContents(), ['Write report']);
  await page.getByLabel('Search').fill('');
  await page.locator('.count', { hasText: '3 tasks' }).waitFor();
  await page.getByLabel('Sort').selectOption('dueAt');
  await page.waitForFunction(() => document.querySelector('li.task .title')?.textContent === 'Call the plumber');

  // Edit: title, priority, a weekly recurrence with a preview of 3 dates.
  await page.getByRole('button', { name: 'Edit Write report' }).click();
  const dialog = page.getByRole('dialog');
  await dialog.getByLabel('Title').fill('Write quarterly report');
  await dialog.getByLabel('Priority').selectOption('high');
  await dialog.getByLabel('Frequency').selectOption('weekly');
  await dialog.getByRole('checkbox', { name: 'Mon' }).check();
  await dialog.getByRole('checkbox', { name: 'Thu' }).check();
  await dialog.getByLabel('Ends').selectOption('count');
  await dialog.getByLabel('Occurrences').fill('6');
  await dialog.locator('.preview ol li').nth(2).waitFor();
  assert.equal(await dialog.locator('.preview ol li').count(), 3);
  assert.equal(await dialog.locator('.preview code').textContent(), 'FREQ=WEEKLY;BYDAY=MO,TH;COUNT=6');
  await dialog.screenshot({ path: join(SHOTS, 'desktop-editor-recurrence.png') });
  await dialog.getByRole('button', { name: 'Save' }).click();
  await dialog.waitFor({ state: 'detached' });
  await taskItem(page, 'Write quarterly report').waitFor();
  const edited = (await api(TOKEN_A, 'GET', '/api/tasks?q=quarterly')).body.items[0];
  assert.equal(edited.priority, 'high');
  assert.equal(edited.recurrence.rrule, 'FREQ=WEEKLY;BYDAY=MO,TH;COUNT=6');

  // Complete (optimistic: checked at once), then reopen.
  const milk = taskItem(page, 'Buy oat milk');
  await milk.getByRole('checkbox').check();
  await page.waitForFunction(() => [...document.querySelectorAll('li.task.done .title')].some((e) => e.textContent === 'Buy oat milk'));
  await expectStatus('Buy oat milk', 'completed');
  await page.getByLabel('Status').selectOption('completed');
  await page.locator('.count', { hasText: '1 task' }).waitFor();
  await page.getByLabel('Status').selectOption('');
  await page.locator('.count', { hasText: '3 tasks' }).waitFor();
  await page.screenshot({ path: join(SHOTS, 'desktop-list.png') });

  // History from the audit API (written asynchronously from the events).
  await page.getByRole('button', { name: 'History of Write quarterly report' }).click();
  const history = page.getByRole('dialog');
  for (let i = 0; i < 20 && (await history.locator('.history > li').count()) < 2; i++) {
    await history.getByRole('button', { name: 'Close' }).click();
    await page.waitForTimeout(250);
    await page.getByRole('button', { name: 'History of Write quarterly report' }).click();
    await history.locator('.history, p').first().waitFor();
  }
  await history.locator('.history > li').nth(1).waitFor();
  assert.match(await history.textContent(), /created/);
  assert.match(await history.textContent(), /title/);
  await history.screenshot({ path: join(SHOTS, 'desktop-history.png') });
  await history.getByRole('button', { name: 'Close' }).click();

  // Optimistic update rolled back when the server refuses: delete a task
  // that is already gone on the server.
  const ghost = (await api(TOKEN_A, 'POST', '/api/tasks', { title: 'Ghost' })).body;
  await taskItem(page, 'Ghost').waitFor();
  await page.route('**/api/tasks/*/complete', (route) => route.fulfill({ status: 503, contentType: 'application/problem+json', body: '{"title":"Service Unavailable","status":503,"detail":"store down"}' }));
  // click, not check(): the rollback may land before Playwright looks.
  await taskItem(page, 'Ghost').getByRole('checkbox').click();
  await page.locator('.toast.error', { hasText: 'Could not complete' }).waitFor();
  await page.waitForFunction(() => ![...document.querySelectorAll('li.task.done .title')].some((e) => e.textContent === 'Ghost'));
  await page.unroute('**/api/tasks/*/complete');
  assert.equal((await api(TOKEN_A, 'GET', `/api/tasks/${ghost.id}`)).body.status, 'open');

  // Delete.
  for (const title of ['Ghost', 'Buy oat milk']) {
    await page.getByRole('button', { name: `Delete ${title}` }).click();
    await taskItem(page, title).waitFor({ state: 'detached' });
  }
  // Optimistic: gone from the list at once; the server follows.
  await eventually(async () => (await api(TOKEN_A, 'GET', '/api/tasks?q=milk')).body.total === 0, 'milk deleted');

  // Phone width.
  const phone = await signedIn(TOKEN_A, PHONE);
  await phone.page.locator('li.task').first().waitFor();
  await phone.page.screenshot({ path: join(SHOTS, 'phone-list.png'), fullPage: true });
  await phone.page.getByRole('button', { name: 'Edit Write quarterly report' }).click();
  await phone.page.getByRole('dialog').locator('.preview ol li').nth(2).waitFor();
  await phone.page.screenshot({ path: join(SHOTS, 'phone-editor.png') });
  const overflow = await phone.page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 0, `no horizontal scrolling at 390 px (overflow ${overflow})`);
  await phone.context.close();

  assert.deepEqual(errors, []);
  await context.close();
});

async function eventually(check, what, timeoutMs = 5000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.fail(`timed out waiting for: ${what}`);
}

async function expectStatus(title, status) {
  await eventually(async () => {
    const items = (await api(TOKEN_A, 'GET', `/api/tasks?q=${encodeURIComponent(title)}`)).body.items;
    return items[0]?.status === status;
  }, `${title} is ${status}`);
}

test('two sessions of one user: a change in one shows in the other within 1 s', async () => {
  const one = await signedIn(TOKEN_A);
  const two = await signedIn(TOKEN_A);
  // Timed from the server's answer to the create in the first session.
  let postedAt = 0;
  one.page.on('response', (r) => {
    if (r.request().method() === 'POST' && new URL(r.url()).pathname === '/api/tasks') postedAt = Date.now();
  });
  const seen = taskItem(two.page, 'Shared live task').waitFor({ timeout: 10_000 }).then(() => Date.now());
  await createTask(one.page, { title: 'Shared live task', tags: 'live' });
  const created = (await seen) - postedAt;
  assert.ok(postedAt > 0 && created <= 1000, `create showed after ${created} ms`);

  // Timed from the moment the server has the change (the UI updates its own
  // list optimistically before that).
  const completeDone = two.page.waitForResponse((r) => r.url().endsWith('/complete') && r.request().method() === 'POST');
  await taskItem(two.page, 'Shared live task').getByRole('checkbox').check();
  await completeDone;
  const t2 = Date.now();
  await one.page.waitForFunction(
    () => [...document.querySelectorAll('li.task.done .title')].some((e) => e.textContent === 'Shared live task'),
    null,
    { timeout: 1000 },
  );
  const completed = Date.now() - t2;

  const deleteDone = one.page.waitForResponse((r) => r.request().method() === 'DELETE');
  await one.page.getByRole('button', { name: 'Delete Shared live task' }).click();
  await deleteDone;
  const t3 = Date.now();
  await taskItem(two.page, 'Shared live task').waitFor({ state: 'detached', timeout: 1000 });
  const deleted = Date.now() - t3;
  console.log(`LIVE created ${created} ms, completed ${completed} ms, deleted ${deleted} ms`);
  await one.context.close();
  await two.context.close();
});

test('a reminder 3 s ahead shows a toast and an inbox entry', async () => {
  const { context, page } = await signedIn(TOKEN_A);
  // Due in 63 s with a reminder 1 minute before: it fires in 3 s.
  const due = berlin(Date.now() + 63_000);
  await createTask(page, { title: 'Stretch your legs', date: due.date, time: due.time, reminder: 'PT1M' });
  const toast = page.locator('.toast.reminder', { hasText: 'Reminder: Stretch your legs' });
  await toast.waitFor({ timeout: 15_000 });
  await page.getByTestId('unread').waitFor();
  assert.ok(Number(await page.getByTestId('unread').textContent()) >= 1);
  await page.screenshot({ path: join(SHOTS, 'desktop-reminder-toast.png') });
  await page.getByRole('button', { name: /Notifications \(\d+ unread\)/ }).click();
  const inbox = page.getByRole('complementary', { name: 'Notifications' });
  await inbox.locator('li.unread', { hasText: 'Stretch your legs' }).waitFor();
  await page.screenshot({ path: join(SHOTS, 'desktop-inbox.png') });
  await inbox.getByRole('button', { name: 'Mark Stretch your legs as read' }).click();
  await inbox.locator('li.read', { hasText: 'Stretch your legs' }).waitFor();
  const phone = await signedIn(TOKEN_A, PHONE);
  await phone.page.getByRole('button', { name: /Notifications/ }).click();
  await phone.page.locator('.inbox li', { hasText: 'Stretch your legs' }).waitFor();
  await phone.page.screenshot({ path: join(SHOTS, 'phone-inbox.png') });
  await phone.context.close();
  await context.close();
});

test("a second user sees none of the first user's tasks", async () => {
  const mine = (await api(TOKEN_A, 'GET', '/api/tasks')).body;
  assert.ok(mine.total > 0);
  const { context, page } = await signedIn(TOKEN_B);
  await page.locator('.count', { hasText: '0 tasks' }).waitFor();
  assert.equal(await page.locator('li.task').count(), 0);
  assert.equal(await page.getByTestId('unread').count(), 0);
  // Nor through the API with the first user's task ids.
  assert.equal((await api(TOKEN_B, 'GET', `/api/tasks/${mine.items[0].id}`)).status, 404);
  await createTask(page, { title: "Bob's own task" });
  assert.equal((await api(TOKEN_A, 'GET', '/api/tasks?q=bob')).body.total, 0);
  await context.close();
});

test('sign-in refuses a bad token', async () => {
  const context = await browser.newContext(DESKTOP);
  const page = await context.newPage();
  await page.goto(BASE + '/');
  await page.screenshot({ path: join(SHOTS, 'desktop-signin.png') });
  await page.getByLabel('Access token').fill('not.a.token');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('alert').waitFor();
  assert.match(await page.getByRole('alert').textContent(), /not accepted/);
  await context.close();
});

// --- A user with more tasks than one page -------------------------------

/** Every task of a list query, in the server's order (pages of 200). */
async function allTasks(token, query) {
  const items = [];
  let cursor = null;
  do {
    const q = new URLSearchParams(query);
    q.set('limit', '200');
    if (cursor) q.set('cursor', cursor);
    const r = await api(token, 'GET', `/api/tasks?${q}`);
    assert.equal(r.status, 200, JSON.stringify(r.body));
    items.push(...r.body.items);
    cursor = r.body.nextCursor ?? null;
  } while (cursor);
  return items;
}

const titles = (page) => page.locator('li.task .title').allTextContents();

/** Waits until the list shows exactly `expected` titles, in order. */
async function expectTitles(page, expected, timeout = 10_000) {
  try {
    await page.waitForFunction(
      (want) => JSON.stringify([...document.querySelectorAll('li.task .title')].map((e) => e.textContent)) === want,
      JSON.stringify(expected),
      { timeout },
    );
  } catch {
    assert.deepEqual(await titles(page), expected);
  }
}

async function expectCount(page, text, timeout = 10_000) {
  try {
    await page.waitForFunction((t) => document.querySelector('.count')?.textContent === t, text, { timeout });
  } catch {
    assert.equal(await page.locator('.count').textContent(), text);
  }
}

/**
 * The page shows the view `{q, priority, sort}`: the address bar, the
 * controls, the count and the first page (100 tasks) in the server's order.
 */
async function expectView(page, token, { q = '', priority = '', sort = '-createdAt' }) {
  const url = new URLSearchParams();
  if (q) url.set('q', q);
  if (priority) url.set('priority', priority);
  if (sort !== '-createdAt') url.set('sort', sort);
  const search = url.toString() ? `?${url}` : '';
  await page.waitForFunction((s) => location.search === s, search);
  assert.equal(await page.getByLabel('Search').inputValue(), q);
  assert.equal(await page.getByLabel('Priority', { exact: true }).inputValue(), priority);
  assert.equal(await page.getByLabel('Sort').inputValue(), sort);
  const query = new URLSearchParams({ sort });
  if (q) query.set('q', q);
  if (priority) query.set('priority', priority);
  const all = await allTasks(token, query);
  await expectCount(page, all.length > 100 ? `Showing 100 of ${all.length} tasks` : `${all.length} tasks`);
  await expectTitles(page, all.slice(0, 100).map((t) => t.title));
  return all;
}

/** Waits until the page has not fetched the task list for `quietMs`. */
async function settled(page, quietMs = 800, timeoutMs = 15_000) {
  let last = Date.now();
  const seen = (r) => {
    if (new URL(r.url()).pathname === '/api/tasks') last = Date.now();
  };
  page.on('request', seen);
  page.on('response', seen);
  const deadline = Date.now() + timeoutMs;
  while (Date.now() - last < quietMs && Date.now() < deadline) await page.waitForTimeout(100);
  page.off('request', seen);
  page.off('response', seen);
}

/** Presses "Load more" with the keyboard; returns the focused element's task id and role. */
async function loadMoreByKeyboard(page) {
  const button = page.getByRole('button', { name: 'Load more' });
  await button.focus();
  const before = await page.locator('li.task').count();
  await page.keyboard.press('Enter');
  await page.waitForFunction((n) => document.querySelectorAll('li.task').length > n, before);
  await page.waitForFunction(() => document.activeElement?.matches('li.task'));
  return page.evaluate(() => {
    const li = document.activeElement;
    return { index: [...li.parentElement.children].indexOf(li), id: li.dataset.id, title: li.querySelector('.title').textContent };
  });
}

test('a user with more than 200 tasks pages through all of them; the view lives in the URL', async () => {
  // The second user (only "Bob's own task" so far) gets 250 more, created
  // through the API in parallel batches.
  const SEEDED = 250;
  const t0 = Date.now();
  for (let start = 1; start <= SEEDED; start += 25) {
    await Promise.all(
      Array.from({ length: Math.min(25, SEEDED - start + 1) }, (_, i) => {
        const n = start + i;
        const num = String(n).padStart(3, '0');
        return api(TOKEN_B, 'POST', '/api/tasks', {
          title: `Bulk ${num}`,
          description: `Bulk item ${num}, ${n % 3 === 0 ? 'fizz' : 'plain'}`,
          priority: n % 2 ? 'high' : 'low',
        }).then((r) => assert.equal(r.status, 201, JSON.stringify(r.body)));
      }),
    );
  }
  let total = (await api(TOKEN_B, 'GET', '/api/tasks?limit=1')).body.total;
  assert.ok(total > SEEDED, `total ${total}`);
  console.log(`PAGING seeded ${SEEDED} tasks in ${Date.now() - t0} ms`);

  const { context, page, errors } = await signedIn(TOKEN_B);
  await expectView(page, TOKEN_B, {});
  assert.equal(await page.getByRole('button', { name: 'Load more' }).count(), 1);

  // The seeding's live events may still be arriving (each refetches the
  // list): none of those old tasks is put on top of the newest 100.
  await settled(page);
  await expectView(page, TOKEN_B, {});

  // A change to a task that is not loaded yet (the oldest) leaves the page alone.
  const oldest = (await allTasks(TOKEN_B, { sort: 'createdAt' }))[0];
  const refetched = page.waitForResponse((r) => new URL(r.url()).pathname === '/api/tasks' && r.request().method() === 'GET');
  assert.equal((await api(TOKEN_B, 'PATCH', `/api/tasks/${oldest.id}`, { title: 'Renamed far away' })).status, 200);
  await refetched;
  await settled(page);
  assert.equal(await page.locator('li.task').count(), 100);
  assert.equal(await taskItem(page, 'Renamed far away').count(), 0);

  // Sorted by title, a task created elsewhere shows at the top at once even
  // though its place is on a page not loaded yet.
  await page.getByLabel('Sort').selectOption('title');
  await expectView(page, TOKEN_B, { sort: 'title' });
  const live = (await api(TOKEN_B, 'POST', '/api/tasks', { title: 'Zz live task' })).body;
  total += 1;
  await page.waitForFunction(() => document.querySelector('li.task .title')?.textContent === 'Zz live task');
  await expectCount(page, `Showing 101 of ${total} tasks`);

  // "Load more" by keyboard: focus moves to the first newly loaded task (the
  // count, an aria-live region, says how many are shown); Tab goes on into it.
  const byTitle = await allTasks(TOKEN_B, { sort: 'title' });
  assert.equal(byTitle.length, total);
  const focused = await loadMoreByKeyboard(page);
  assert.equal(focused.index, 101, 'the first task of the new page (after the pinned live task)');
  assert.equal(focused.id, byTitle[100].id);
  await expectCount(page, `Showing 201 of ${total} tasks`);
  assert.equal(await page.locator('.count').getAttribute('aria-live'), 'polite');
  await page.screenshot({ path: join(SHOTS, 'desktop-load-more.png') });
  await page.keyboard.press('Tab');
  assert.equal(
    await page.evaluate(() => document.activeElement?.getAttribute('aria-label')),
    `Complete ${byTitle[100].title}`,
  );

  // To the end: every task exactly once, in the server's order (the live
  // task has moved to its own place), and no button left.
  assert.equal(await page.locator('.more-note').textContent(), `201 of ${total} shown`);
  await page.getByRole('button', { name: 'Load more' }).click();
  await expectCount(page, `${total} tasks`);
  await expectTitles(page, byTitle.map((t) => t.title));
  const ids = await page.locator('li.task').evaluateAll((els) => els.map((e) => e.dataset.id));
  assert.equal(ids.length, total);
  assert.equal(new Set(ids).size, total, 'no duplicates');
  assert.equal(await page.getByRole('button', { name: 'Load more' }).count(), 0);
  await taskItem(page, 'Renamed far away').waitFor();
  await page.evaluate(() => window.scrollTo(0, document.body.scrollHeight));
  await page.screenshot({ path: join(SHOTS, 'desktop-paged-end.png') });

  // Filter (pushed), search (replaced while typing), sort (pushed); paging
  // keeps the filters and sort with the cursor.
  await page.getByLabel('Priority', { exact: true }).selectOption('high');
  await page.getByLabel('Search').fill('bulk');
  await expectView(page, TOKEN_B, { q: 'bulk', priority: 'high', sort: 'title' });
  await page.getByLabel('Sort').selectOption('createdAt');
  const filtered = await expectView(page, TOKEN_B, { q: 'bulk', priority: 'high', sort: 'createdAt' });
  assert.equal(filtered.length, SEEDED / 2);
  await page.getByRole('button', { name: 'Load more' }).click();
  await expectCount(page, `${filtered.length} tasks`);
  await expectTitles(page, filtered.map((t) => t.title));

  // A reload restores the view (from its first page).
  await page.reload();
  await expectView(page, TOKEN_B, { q: 'bulk', priority: 'high', sort: 'createdAt' });
  await page.screenshot({ path: join(SHOTS, 'desktop-view-from-url.png') });
  // Back: the search was typed into the filtered view, so one step back is
  // priority + search by title; two steps back is the unfiltered title sort.
  await page.goBack();
  await expectView(page, TOKEN_B, { q: 'bulk', priority: 'high', sort: 'title' });
  await page.goBack();
  await expectView(page, TOKEN_B, { sort: 'title' });
  await page.goForward();
  await page.goForward();
  await expectView(page, TOKEN_B, { q: 'bulk', priority: 'high', sort: 'createdAt' });

  // A shared link opens the same view (after signing in).
  const shared = await signedIn(TOKEN_B, PHONE, '/?q=bulk&priority=high&sort=createdAt');
  await expectView(shared.page, TOKEN_B, { q: 'bulk', priority: 'high', sort: 'createdAt' });
  await shared.page.getByRole('button', { name: 'Load more' }).scrollIntoViewIfNeeded();
  await shared.page.screenshot({ path: join(SHOTS, 'phone-load-more.png') });
  // A refused cursor (400) is not a dead end: the pages are fetched again.
  let refused = 0;
  await shared.page.route(/\/api\/tasks\?.*cursor=/, (route) => {
    refused++;
    return route.fulfill({ status: 400, contentType: 'application/problem+json', body: '{"title":"Bad Request","status":400,"detail":"cursor does not match"}' });
  });
  await shared.page.getByRole('button', { name: 'Load more' }).click();
  await expectCount(shared.page, `${filtered.length} tasks`);
  await expectTitles(shared.page, filtered.map((t) => t.title));
  assert.equal(refused, 1);
  assert.equal(await shared.page.locator('.toast.error').count(), 0);
  await shared.context.close();

  await api(TOKEN_B, 'DELETE', `/api/tasks/${live.id}`);
  assert.deepEqual(errors, []);
  await context.close();
});
