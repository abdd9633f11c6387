// Drives GraphiQL's editorial tabs in headless Chromium like an editor would.
//
//   node tests/browser/editor_tabs.mjs <base-url> <screenshot.png> <editor-token>
//
// 1. Opens <base>/graphql: the tabs of server/editor_tabs.py are there (screenshot).
// 2. Opens the EditSection tab, types the editor token into its Headers and new
//    variables (slug, key, body; expectedRevision left null) into its Variables.
// 3. Clicks "Fill expectedRevision": the control looks the section's revision up and
//    writes it into the variables.
// 4. Runs the tab and waits for the edited section in the response pane.
// 5. Before that, as a returning visitor with stored tabs: the editorial tabs are added
//    to theirs, once (returningTabNames, afterClosingTabNames).
// Prints a JSON summary {ok, tabNames, filledRevision, resultText, ...} and exits
// non-zero on any failed request, console error, missing answer or timeout.
import { chromium } from 'playwright-core';

const base = (process.argv[2] || '').replace(/\/+$/, '');
const screenshotPath = process.argv[3];
const token = process.argv[4];
if (!base || !screenshotPath || !token) {
  console.error('usage: node tests/browser/editor_tabs.mjs <base-url> <screenshot.png> <editor-token>');
  process.exit(2);
}

const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
const BODY = 'Edited from the EditSection tab in Chromium.';
const VARIABLES = `{"slug": "ketamine--als", "key": "BOTTOM_LINE", "expectedRevision": null, "body": "${BODY}"}`;
const OVERALL_MS = 90_000;

const failedRequests = [];
const consoleErrors = [];
const steps = [];
const seen = {};
let browser;
let page;
let leaving = false;

const normalize = (text) => (text || '').replace(/\u00a0/g, ' ').replace(/\s+/g, ' ').trim();
const squash = (text) => (text || '').replace(/\u00a0/g, ' ').replace(/\s+/g, '');
const selectAll = process.platform === 'darwin' ? 'Meta+A' : 'Control+A';

// Replaces the text of a Monaco editor by typing, as a person would.
async function typeInto(editor, text) {
  await editor.locator('.view-lines').click();
  await page.keyboard.press(selectAll);
  await page.keyboard.press('Delete');
  await page.keyboard.type(text, { delay: 5 });
  await page.keyboard.press('Escape');
  return normalize(await editor.locator('.view-lines').innerText());
}

function watch(target) {
  target.setDefaultTimeout(30_000);
  target.on('requestfailed', (request) => {
    // Requests our own reload or close cuts short (a worker still loading) are no failure.
    if (leaving && request.failure()?.errorText === 'net::ERR_ABORTED') return;
    failedRequests.push({ url: request.url(), method: request.method(), error: request.failure()?.errorText ?? 'failed' });
  });
  target.on('response', (response) => {
    if (response.status() >= 400) {
      failedRequests.push({ url: response.url(), method: response.request().method(), status: response.status() });
    }
  });
  target.on('console', (message) => {
    if (message.type() === 'error') consoleErrors.push({ text: message.text(), location: message.location()?.url ?? '' });
  });
  target.on('pageerror', (error) => consoleErrors.push({ text: `pageerror: ${error.message}` }));
}

async function openGraphiql(target, reload = false) {
  await (reload ? target.reload({ waitUntil: 'load' }) : target.goto(`${base}/graphql`, { waitUntil: 'load' }));
  await target.locator('.graphiql-query-editor .monaco-editor').first().waitFor({ state: 'visible' });
  await target.waitForFunction(
    () => (document.querySelector('.graphiql-query-editor .view-lines')?.textContent || '').trim().length > 0,
  );
  // GraphiQL titles each tab with its operation's name once the tab's query is parsed.
  await target.waitForFunction(
    () => [...document.querySelectorAll('.graphiql-tab')].some((t) => /EditSection/.test(t.textContent || '')),
  );
  // Clicking a tab before the editors settle shows the wrong tab's text (GraphiQL).
  await target.waitForTimeout(500);
}

async function tabNames(target) {
  return (await target.locator('.graphiql-tab').allInnerTexts()).map(normalize);
}

// Someone who used GraphiQL before the editorial tabs existed: their stored tabs stay,
// the editorial tabs are added once, and one they close stays closed.
async function returningVisitor() {
  steps.push('returning visitor');
  const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
  const visitor = await context.newPage();
  watch(visitor);
  // Stored tabs from an earlier visit, seeded before the page's scripts run (once:
  // sessionStorage survives the reload below).
  await context.addInitScript(() => {
    if (window.sessionStorage.getItem('seeded')) return;
    window.sessionStorage.setItem('seeded', '1');
    const mine = { id: 'mine', title: 'Mine', query: 'query Mine { __typename }', variables: null,
      headers: null, operationName: 'Mine', response: null };
    window.localStorage.setItem('graphiql:tabState', JSON.stringify({ activeTabIndex: 0, tabs: [mine] }));
  });
  await openGraphiql(visitor);
  seen.returningTabNames = await tabNames(visitor);
  const workQueue = visitor.locator('.graphiql-tab', { hasText: 'WorkQueue' });
  await workQueue.locator('.graphiql-tab-button').click();
  await workQueue.locator('.graphiql-tab-close').click();
  await visitor.waitForFunction(
    () => !/WorkQueue/.test(window.localStorage.getItem('graphiql:tabState') || ''),
    null,
    { timeout: 10_000 },
  );
  leaving = true;
  await openGraphiql(visitor, true);
  leaving = false;
  seen.afterClosingTabNames = await tabNames(visitor);
  leaving = true;
  await context.close();
  leaving = false;
}

async function run() {
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  await returningVisitor();

  const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
  page = await context.newPage();
  watch(page);

  steps.push('open graphiql');
  await openGraphiql(page);
  seen.tabNames = await tabNames(page);
  await page.screenshot({ path: screenshotPath });

  steps.push('open the EditSection tab');
  await page.locator('.graphiql-tab', { hasText: 'EditSection' }).locator('.graphiql-tab-button').click();
  await page.waitForFunction(
    () => /mutationEditSection/.test((document.querySelector('.graphiql-query-editor .view-lines')?.textContent || '').replace(/\s+/g, '')),
  );

  steps.push('type the token into the headers');
  await page.locator('.graphiql-editor-tools button[data-name="headers"]').click();
  const headersEditor = page.locator('.graphiql-editor-tool .monaco-editor').last();
  await headersEditor.waitFor({ state: 'visible' });
  const headers = `{"Authorization": "Bearer ${token}"}`;
  const typedHeaders = await typeInto(headersEditor, headers);
  if (squash(typedHeaders) !== squash(headers)) {
    throw new Error(`headers editor holds ${JSON.stringify(typedHeaders.replace(token, '<token>'))}`);
  }

  steps.push('fill the variables');
  await page.locator('.graphiql-editor-tools button[data-name="variables"]').click();
  const variablesEditor = page.locator('.graphiql-editor-tool .monaco-editor').first();
  await variablesEditor.waitFor({ state: 'visible' });
  const typedVariables = await typeInto(variablesEditor, VARIABLES);
  if (squash(typedVariables) !== squash(VARIABLES)) {
    throw new Error(`variables editor holds ${JSON.stringify(typedVariables)}`);
  }

  steps.push('fill expectedRevision');
  await page.locator('[data-testid="fill-revision"]').click();
  await page.waitForFunction(
    () => /"expectedRevision":\d+/.test((document.querySelector('.graphiql-editor-tool .view-lines')?.textContent || '').replace(/\s+/g, '')),
    null,
    { timeout: 15_000 },
  );
  const filled = squash(await variablesEditor.locator('.view-lines').innerText());
  seen.filledRevision = Number((/"expectedRevision":(\d+)/.exec(filled) || [])[1]);
  seen.variables = filled;

  steps.push('run');
  await page.locator('button.graphiql-execute-button').click();

  steps.push('wait for the answer');
  await page.waitForFunction(
    (body) => {
      const text = (document.querySelector('.graphiql-response')?.textContent || '').replace(/\s+/g, '');
      return text.includes(body.replace(/\s+/g, '')) || text.includes('"errors"');
    },
    BODY,
  );
  seen.resultText = normalize(await page.locator('.graphiql-response .view-lines').first().innerText());
  seen.answered = squash(seen.resultText).includes(squash(BODY)) && !squash(seen.resultText).includes('"errors"');
  seen.edited = /"origin":"EDITED"/.test(squash(seen.resultText));
  // Let late requests (workers, chunks) report before the summary.
  await page.waitForTimeout(500);
}

let error = null;
const timer = setTimeout(() => {
  error = error || `timed out after ${OVERALL_MS / 1000} s at step "${steps.at(-1)}"`;
  finish();
}, OVERALL_MS);

let finished = false;
async function finish() {
  if (finished) return;
  finished = true;
  clearTimeout(timer);
  if (error && page) {
    await page.screenshot({ path: screenshotPath, timeout: 5_000 }).catch(() => {});
  }
  try {
    await browser?.close();
  } catch {
    // ignore
  }
  const ok =
    !error && seen.answered === true && seen.edited === true && failedRequests.length === 0 && consoleErrors.length === 0;
  const summary = { ok, error, failedRequests, consoleErrors, ...seen, steps };
  // Exit only once stdout is flushed: a pipe would otherwise cut the summary.
  process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`, () => process.exit(ok ? 0 : 1));
}

try {
  await run();
} catch (err) {
  error = error || `${steps.at(-1) ?? 'start'}: ${err?.message ?? err}`;
}
await finish();
