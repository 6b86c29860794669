// Browser tests of the web UI against a running devstack (scripts/ui-test
// starts one and sets the environment). Playwright (playwright-core: no
// browser download) drives Debian's Chromium.
//
//   TODO_BASE_URL   the gateway, e.g. http://127.0.0.1:3000
//   TODO_TOKEN_A/B  tokens of two different users (signed in through the
//                   developer-token form; other tests sign up an account)
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

/** A page in a fresh context (its own storage and cookies: a separate session), not signed in. */
async function openPage(options = DESKTOP, path = '/', { clock = false } = {}) {
  const context = await browser.newContext({ ...options, timezoneId: 'Europe/Berlin', locale: 'en-GB' });
  // Fake timers (time still flows) that a test can fast-forward.
  if (clock) await context.clock.install();
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  page.on('console', (m) => {
    // CSP violations are console errors: the page must not cause any.
    if (m.type() === 'error' && /Content Security Policy/i.test(m.text())) errors.push(m.text());
  });
  await page.goto(BASE + path);
  return { context, page, errors };
}

/** Waits for the task list and the live stream. */
async function ready(page) {
  await page.getByRole('button', { name: 'New task' }).waitFor();
  await page.locator('.live.live').waitFor({ timeout: 10_000 });
}

/** A page signed in with a `devstack token` (the developer-token form devstack's page offers). */
async function signedIn(token, options = DESKTOP, path = '/') {
  const opened = await openPage(options, path);
  const { page } = opened;
  await page.getByRole('button', { name: 'Use a developer token' }).click();
  await page.getByLabel('Access token').fill(token);
  await page.getByRole('button', { name: 'Sign in with token' }).click();
  await ready(page);
  return opened;
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
  await page.getByRole('button', { name: 'Use a developer token' }).click();
  await page.screenshot({ path: join(SHOTS, 'desktop-developer-token.png') });
  await page.getByLabel('Access token').fill('not.a.token');
  await page.getByRole('button', { name: 'Sign in with token' }).click();
  await page.getByRole('alert').waitFor();
  assert.match(await page.getByRole('alert').textContent(), /not accepted/);
  await context.close();
});

// --- Accounts: sign-up, sign-in, sign-out, the session --------------------

// One account for these tests (a fresh devstack each run; the address is
// unique anyway). Each wrong password counts against this machine's
// sign-in lockout (5 in 15 minutes from one address): the run makes 2.
const ACCOUNT = { name: 'Ana López', email: `ana.${Date.now()}@example.org`, password: 'tangerine-sky-42' };

/** Fills and sends the sign-in form. */
async function signInThroughUi(page, { email, password } = ACCOUNT) {
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password', { exact: true }).fill(password);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
}

/** A fresh context signed in with the account's email and password. */
async function signedInWithPassword(options = DESKTOP) {
  const opened = await openPage(options);
  await signInThroughUi(opened.page);
  await ready(opened.page);
  return opened;
}

/** The `refresh` cookie the context holds, if any. */
async function refreshCookie(context) {
  return (await context.cookies(BASE + '/api/auth/refresh')).find((c) => c.name === 'refresh' && c.value);
}

/** An access token of the account, from a sign-in outside the browser (its own refresh family). */
async function accountToken() {
  const r = await fetch(BASE + '/api/auth/login', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ email: ACCOUNT.email, password: ACCOUNT.password }),
  });
  assert.equal(r.status, 200);
  return (await r.json()).accessToken;
}

/** The id and text of the focused element. */
const focused = (page) =>
  page.evaluate(() => ({ id: document.activeElement?.id ?? '', role: document.activeElement?.getAttribute('role') ?? '', text: document.activeElement?.textContent ?? '' }));

/** Waits until the element with `id` has keyboard focus (moved there after a render). */
async function expectFocus(page, id) {
  try {
    await page.waitForFunction((want) => document.activeElement?.id === want, id, { timeout: 5000 });
  } catch {
    assert.equal((await focused(page)).id, id);
  }
}

/** Waits until an error summary (role="alert") has keyboard focus. */
async function expectSummaryFocused(page) {
  try {
    await page.waitForFunction(() => document.activeElement?.getAttribute('role') === 'alert', null, { timeout: 5000 });
  } catch {
    assert.equal((await focused(page)).role, 'alert');
  }
}

/**
 * Access tokens carry whole seconds (`iat`, `exp`) and nothing random: one
 * refreshed within the second of the sign-in is the very same token. Tests
 * that tell the old token from the new one wait for the next second first.
 */
const nextSecond = () => new Promise((r) => setTimeout(r, 1000));

/** The text of the elements `aria-describedby` of `locator` names. */
async function description(locator) {
  return locator.evaluate((el) =>
    (el.getAttribute('aria-describedby') ?? '').split(/\s+/).filter(Boolean).map((id) => document.getElementById(id)?.textContent ?? `#${id} missing`).join(' | '),
  );
}

test('the sign-in and sign-up forms: labelled, autocomplete, errors announced and linked, the developer-token link on devstack', async () => {
  const { context, page, errors } = await openPage();
  await page.getByRole('heading', { name: 'Sign in', exact: true }).waitFor();
  assert.equal(await page.title(), 'Sign in · Todo');
  assert.equal(await page.getByLabel('Email').getAttribute('autocomplete'), 'email');
  assert.equal(await page.getByLabel('Email').getAttribute('type'), 'email');
  assert.equal(await page.getByLabel('Password', { exact: true }).getAttribute('autocomplete'), 'current-password');
  assert.equal(await page.getByLabel('Password', { exact: true }).getAttribute('type'), 'password');
  // Served by devstack (a loopback host): the old paste-a-token form is one link away.
  assert.ok(await page.getByRole('button', { name: 'Use a developer token' }).isVisible());
  assert.equal(await page.getByLabel('Access token').count(), 0);
  await page.screenshot({ path: join(SHOTS, 'desktop-sign-in.png') });

  // Nothing typed: the summary is an alert, focus goes to the first field, whose message it describes.
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  await page.getByRole('alert').waitFor();
  await expectFocus(page, 'signin-email');
  const email = page.getByLabel('Email');
  assert.equal(await email.getAttribute('aria-invalid'), 'true');
  assert.equal(await description(email), 'Enter your email address.');
  assert.equal(await description(page.getByLabel('Password', { exact: true })), 'Enter your password.');

  // Show password toggles the field's type.
  await page.getByLabel('Show password').check();
  assert.equal(await page.getByLabel('Password', { exact: true }).getAttribute('type'), 'text');

  // To sign-up by keyboard: focus moves to the new form's heading.
  await page.getByRole('button', { name: 'Create an account' }).focus();
  await page.keyboard.press('Enter');
  await page.getByRole('heading', { name: 'Create an account' }).waitFor();
  await expectFocus(page, 'auth-title');
  assert.equal(await page.title(), 'Create an account · Todo');
  assert.equal(await page.getByLabel('Name').getAttribute('autocomplete'), 'name');
  assert.equal(await page.getByLabel('Email').getAttribute('autocomplete'), 'email');
  const password = page.getByLabel('Password', { exact: true });
  assert.equal(await password.getAttribute('autocomplete'), 'new-password');
  assert.match(await description(password), /At least 10 characters/);
  assert.equal(await page.getByRole('button', { name: 'Use a developer token' }).count(), 0);
  await page.screenshot({ path: join(SHOTS, 'desktop-sign-up.png') });

  // The server's 422: each message on its field, focus on the first invalid one (Email; Name is fine).
  await page.getByLabel('Name').fill('Ana');
  await page.getByLabel('Email').fill('ana@');
  await password.fill('1234567890');
  await page.getByRole('button', { name: 'Create account', exact: true }).click();
  await page.locator('#signup-password-error').waitFor();
  await expectFocus(page, 'signup-email');
  assert.match(await description(page.getByLabel('Email')), /^Email must have a domain/);
  assert.match(await description(password), /At least 10 characters.*\| Password is one of the most commonly used passwords/);
  assert.equal(await password.getAttribute('aria-invalid'), 'true');
  assert.equal(await page.getByLabel('Name').getAttribute('aria-invalid'), null);
  const alert = await page.getByRole('alert').textContent();
  assert.match(alert, /Email must have a domain/);
  assert.match(alert, /Password is one of the most commonly used/);
  await page.screenshot({ path: join(SHOTS, 'desktop-sign-up-errors.png') });

  // Back to sign-in: what was typed in Email stays.
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  await page.getByRole('heading', { name: 'Sign in', exact: true }).waitFor();
  assert.equal(await page.getByLabel('Email').inputValue(), 'ana@');

  // Phone width: both forms fit.
  const phone = await openPage(PHONE);
  await phone.page.getByRole('heading', { name: 'Sign in', exact: true }).waitFor();
  await phone.page.screenshot({ path: join(SHOTS, 'phone-sign-in.png') });
  await phone.page.getByRole('button', { name: 'Create an account' }).click();
  await phone.page.getByRole('heading', { name: 'Create an account' }).waitFor();
  await phone.page.screenshot({ path: join(SHOTS, 'phone-sign-up.png') });
  const overflow = await phone.page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 0, `no horizontal scrolling at 390 px (overflow ${overflow})`);
  await phone.context.close();

  assert.deepEqual([...errors, ...phone.errors], []);
  await context.close();
});

test('sign up, create a task, sign out, sign in again: the task is there', async () => {
  const { context, page, errors } = await openPage();
  await page.getByRole('button', { name: 'Create an account' }).click();
  await page.getByLabel('Name').fill(ACCOUNT.name);
  await page.getByLabel('Email').fill(ACCOUNT.email);
  await page.getByLabel('Password', { exact: true }).fill(ACCOUNT.password);
  await page.getByRole('button', { name: 'Create account', exact: true }).click();
  await ready(page);
  // The account (from /api/auth/me) where the user id was shown.
  await page.locator('.user .user-name', { hasText: ACCOUNT.name }).waitFor();
  assert.equal(await page.locator('.user .user-email').textContent(), ACCOUNT.email);
  assert.equal(await page.title(), 'Todo');
  await createTask(page, { title: 'Water the ferns', tags: 'home' });
  await page.screenshot({ path: join(SHOTS, 'desktop-signed-up.png') });

  // The refresh token is an HttpOnly cookie for /api/auth only; the access
  // token is in no storage a script could read.
  const cookie = await refreshCookie(context);
  assert.ok(cookie, 'a refresh cookie');
  assert.equal(cookie.httpOnly, true);
  assert.equal(cookie.path, '/api/auth');
  assert.equal(cookie.sameSite, 'Strict');
  assert.equal(cookie.secure, false, 'no Secure on plain-HTTP loopback');
  const stored = await page.evaluate(() => JSON.stringify([{ ...localStorage }, { ...sessionStorage }]));
  assert.doesNotMatch(stored, /eyJ/, 'no JWT in localStorage or sessionStorage');

  // A second sign-up with the same address: the 409 is worded neutrally (the
  // page does not say the address is registered), focus on the summary.
  const other = await openPage();
  await other.page.getByRole('button', { name: 'Create an account' }).click();
  await other.page.getByLabel('Name').fill('Someone else');
  await other.page.getByLabel('Email').fill(ACCOUNT.email.toUpperCase());
  await other.page.getByLabel('Password', { exact: true }).fill('another-long-pass-9');
  await other.page.getByRole('button', { name: 'Create account', exact: true }).click();
  const refusal = other.page.locator('.error-summary[role="alert"]');
  await refusal.waitFor();
  assert.match(await refusal.textContent(), /^We could not create an account with these details\. If you already have an account, sign in instead\./);
  assert.equal(await other.page.locator('#signup-email-error').count(), 0, 'no field says the address is taken');
  // Focus moves after the summary renders: wait for it, as every other
  // summary check does, then check it is this summary.
  await expectSummaryFocused(other.page);
  assert.equal(await other.page.evaluate(() => document.activeElement?.classList.contains('error-summary')), true);
  await other.context.close();

  // Sign out: back to sign-in, focus on its heading, the reason announced, the cookie gone.
  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.getByRole('heading', { name: 'Sign in', exact: true }).waitFor();
  await page.getByRole('status').filter({ hasText: 'You have signed out.' }).waitFor();
  await expectFocus(page, 'auth-title');
  assert.equal(await refreshCookie(context), undefined);

  // Sign in again with the same account: the task is there.
  await signInThroughUi(page);
  await ready(page);
  await taskItem(page, 'Water the ferns').waitFor();
  await page.locator('.user .user-name', { hasText: ACCOUNT.name }).waitFor();
  assert.deepEqual(errors, []);
  await context.close();
});

test('a wrong password is refused accessibly; too many attempts say how long to wait', async () => {
  const { context, page, errors } = await openPage();
  await signInThroughUi(page, { email: ACCOUNT.email, password: 'not-the-password' });
  const alert = page.getByRole('alert');
  await alert.waitFor();
  assert.equal((await alert.textContent()).trim(), 'The email address or password is not correct.');
  // No field is to blame: focus goes to the summary (so it is read out and the form follows).
  await expectSummaryFocused(page);
  await page.screenshot({ path: join(SHOTS, 'desktop-sign-in-error.png') });
  // An unknown address gets the same answer.
  await signInThroughUi(page, { email: `nobody.${Date.now()}@example.org`, password: 'whatever-it-is' });
  await expectSummaryFocused(page);
  assert.equal((await alert.textContent()).trim(), 'The email address or password is not correct.');
  // The 429 after 5 failures (answered here by a stand-in: a real lockout
  // would lock this machine's address out of the later tests for 15 minutes).
  await page.route('**/api/auth/login', (route) =>
    route.fulfill({
      status: 429,
      headers: { 'Retry-After': '840', 'Content-Type': 'application/problem+json' },
      body: JSON.stringify({ type: 'about:blank', title: 'Too Many Requests', status: 429, detail: 'too many failed sign-in attempts; try again later' }),
    }),
  );
  await signInThroughUi(page, { email: ACCOUNT.email, password: 'still-not-it' });
  await page.getByRole('alert').filter({ hasText: 'Too many attempts' }).waitFor();
  assert.equal((await page.getByRole('alert').textContent()).trim(), 'Too many attempts, try again in 14 minutes.');
  await page.unroute('**/api/auth/login');
  await page.screenshot({ path: join(SHOTS, 'desktop-sign-in-429.png') });
  // The right password still works.
  await signInThroughUi(page);
  await ready(page);
  assert.deepEqual(errors, []);
  await context.close();
});

test('a reload keeps the session (the refresh cookie); a sign-out in another tab ends it', async () => {
  const { context, page, errors } = await signedInWithPassword();
  await taskItem(page, 'Water the ferns').waitFor();
  const refreshes = [];
  context.on('response', (r) => {
    if (new URL(r.url()).pathname === '/api/auth/refresh') refreshes.push(r.status());
  });
  await page.reload();
  await ready(page);
  await taskItem(page, 'Water the ferns').waitFor();
  await page.locator('.user .user-name', { hasText: ACCOUNT.name }).waitFor();
  assert.deepEqual(refreshes, [200], 'one refresh restored the session');

  // A second tab of the same browser: signed in by the same cookie.
  const tab = await context.newPage();
  await tab.goto(BASE + '/');
  await ready(tab);
  assert.deepEqual(refreshes, [200, 200]);
  // Signing out there ends the session here too.
  await tab.getByRole('button', { name: 'Sign out' }).click();
  await tab.getByRole('heading', { name: 'Sign in', exact: true }).waitFor();
  await page.getByRole('heading', { name: 'Sign in', exact: true }).waitFor();
  await page.getByRole('status').filter({ hasText: 'You signed out in another tab.' }).waitFor();
  // And a reload does not bring it back.
  await page.reload();
  await page.getByRole('heading', { name: 'Sign in', exact: true }).waitFor();
  assert.equal(await page.getByRole('button', { name: 'New task' }).count(), 0);
  assert.equal(refreshes.at(-1), 401);
  assert.deepEqual(errors, []);
  await context.close();
});

/** The `access_token` of every live-stream request `page` makes, as they happen. */
function streamTokens(page) {
  const tokens = [];
  page.on('request', (r) => {
    const url = new URL(r.url());
    if (url.pathname === '/api/sync/stream') tokens.push(url.searchParams.get('access_token'));
  });
  return tokens;
}

test('an access token the API refuses is refreshed once and the requests retried; the live stream moves to the new token', async () => {
  const { context, page, errors } = await openPage();
  const streams = streamTokens(page);
  await signInThroughUi(page);
  await ready(page);
  await nextSecond();
  const refreshes = [];
  page.on('request', (r) => {
    if (new URL(r.url()).pathname === '/api/auth/refresh') refreshes.push(r.method());
  });
  // What the page sends to the list and tags endpoints, with which token.
  const sent = [];
  page.on('request', async (r) => {
    const path = new URL(r.url()).pathname;
    if (path === '/api/tasks' || path === '/api/tags') sent.push({ path, auth: (await r.allHeaders()).authorization });
  });
  // The server refuses the next two requests (the list and the tags, sent
  // at once when the sort changes) as if the token had expired.
  const refused = [];
  await page.route(/\/api\/(tasks\?|tags)/, (route) => {
    if (refused.length >= 2) return route.fallback();
    refused.push(route.request().headers().authorization);
    return route.fulfill({ status: 401, contentType: 'application/problem+json', body: '{"type":"about:blank","title":"Unauthorized","status":401,"detail":"the access token has expired"}' });
  });
  await page.getByLabel('Sort').selectOption('title');
  // Both were sent again, with the one new token (the list, the tags and
  // the newest-task probe leave at once: any two of them were refused).
  const retried = () => sent.filter((s) => s.auth && s.auth !== refused[0]);
  await eventually(async () => retried().length >= 2, 'the refused requests sent again');
  await page.waitForFunction(() => new URLSearchParams(location.search).get('sort') === 'title');
  await expectCount(page, '1 task');
  await taskItem(page, 'Water the ferns').waitFor();
  await page.unroute(/\/api\/(tasks\?|tags)/);
  assert.equal(refused.length, 2);
  assert.ok(refused[0]?.startsWith('Bearer '));
  assert.equal(refused[0], refused[1]);
  assert.deepEqual(refreshes, ['POST'], 'one refresh for both refused requests');
  assert.equal(await page.locator('.toast.error').count(), 0, 'no error shown');
  const fresh = retried()[0].auth;
  assert.ok(retried().every((s) => s.auth === fresh));
  // The stream was reopened with it, and live changes still arrive.
  await eventually(async () => streams.at(-1) === fresh.replace(/^Bearer /, ''), 'stream reopened with the new token');
  await page.locator('.live.live').waitFor();
  const token = await accountToken();
  assert.equal((await api(token, 'POST', '/api/tasks', { title: 'Arrived live after a refresh' })).status, 201);
  await taskItem(page, 'Arrived live after a refresh').waitFor({ timeout: 10_000 });
  assert.deepEqual(errors, []);
  await context.close();
});

test('the access token is refreshed silently a minute before it expires (time fast-forwarded)', async () => {
  const { context, page, errors } = await openPage(DESKTOP, '/', { clock: true });
  const streams = streamTokens(page);
  await signInThroughUi(page);
  await ready(page);
  assert.ok(streams.length > 0, 'the stream opened');
  const first = streams.at(-1);
  await nextSecond();
  // Signed in for 13 minutes: no refresh yet (the token lives 15).
  const refreshed = page.waitForResponse((r) => new URL(r.url()).pathname === '/api/auth/refresh');
  let early = 0;
  const countEarly = (r) => {
    if (new URL(r.url()).pathname === '/api/auth/refresh') early++;
  };
  page.on('request', countEarly);
  await page.clock.fastForward('13:00');
  await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => r())));
  assert.equal(early, 0, 'no refresh 2 minutes before expiry');
  page.off('request', countEarly);
  // Past 14 minutes: refreshed, and the stream reopened with the new token.
  await page.clock.fastForward('01:01');
  const response = await refreshed;
  assert.equal(response.status(), 200);
  const { accessToken, expiresIn } = await response.json();
  assert.equal(expiresIn, 900);
  await eventually(async () => streams.at(-1) === accessToken, 'stream reopened with the refreshed token');
  assert.notEqual(first, accessToken);
  await page.locator('.live.live').waitFor();
  // The page goes on working with it.
  await createTask(page, { title: 'Made after a silent refresh' });
  const token = await accountToken();
  assert.equal((await api(token, 'POST', '/api/tasks', { title: 'Live after a silent refresh' })).status, 201);
  await taskItem(page, 'Live after a silent refresh').waitFor({ timeout: 10_000 });
  assert.deepEqual(errors, []);
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
