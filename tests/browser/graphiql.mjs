// Drives the GraphiQL page in headless Chromium like an editor would.
//
//   node tests/browser/graphiql.mjs <base-url> <screenshot.png>
//
// Opens <base>/graphql, types a query into the operation editor, runs it and
// waits for the review title in the response pane. Prints a JSON summary
// {ok, failedRequests, consoleErrors, resultText, ...} and exits non-zero on
// any failed request, console error, missing title or timeout.
import { chromium } from 'playwright-core';

const base = (process.argv[2] || '').replace(/\/+$/, '');
const screenshotPath = process.argv[3];
if (!base || !screenshotPath) {
  console.error('usage: node tests/browser/graphiql.mjs <base-url> <screenshot.png>');
  process.exit(2);
}

const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
const QUERY = 'query EditorCheck { review(slug: "ketamine--als") { title } }';
const TITLE =
  'Is Ketamine (IV / Esketamine) Safe for ALS (Amyotrophic Lateral Sclerosis) Patients? — Research Review';
const OVERALL_MS = 60_000;

const failedRequests = [];
const consoleErrors = [];
const steps = [];
let resultText = '';
let editorText = '';
let browser;
let page;

const normalize = (text) => (text || '').replace(/\u00a0/g, ' ');

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
  const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
  page = await context.newPage();
  page.setDefaultTimeout(30_000);

  page.on('requestfailed', (request) => {
    failedRequests.push({
      url: request.url(),
      method: request.method(),
      error: request.failure()?.errorText ?? 'failed',
    });
  });
  page.on('response', (response) => {
    if (response.status() >= 400) {
      failedRequests.push({
        url: response.url(),
        method: response.request().method(),
        status: response.status(),
      });
    }
  });
  page.on('console', (message) => {
    if (message.type() === 'error') {
      consoleErrors.push({ text: message.text(), location: message.location()?.url ?? '' });
    }
  });
  page.on('pageerror', (error) => consoleErrors.push({ text: `pageerror: ${error.message}` }));

  steps.push('open');
  const response = await page.goto(`${base}/graphql`, { waitUntil: 'load' });
  if (!response || response.status() !== 200) {
    throw new Error(`GET ${base}/graphql answered ${response ? response.status() : 'nothing'}`);
  }
  const contentType = response.headers()['content-type'] || '';
  if (!contentType.includes('text/html')) {
    throw new Error(`GET ${base}/graphql answered ${contentType}, not text/html`);
  }

  steps.push('wait for editor');
  const editor = page.locator('.graphiql-query-editor .monaco-editor').first();
  await editor.waitFor({ state: 'visible' });
  // The default query is loaded into the editor once Monaco is ready.
  await page.waitForFunction(
    () => (document.querySelector('.graphiql-query-editor .view-lines')?.textContent || '').trim().length > 0,
  );

  steps.push('type query');
  await editor.locator('.view-lines').click();
  const selectAll = process.platform === 'darwin' ? 'Meta+A' : 'Control+A';
  await page.keyboard.press(selectAll);
  await page.keyboard.press('Delete');
  await page.keyboard.type(QUERY, { delay: 15 });
  // Close any completion popup the typing opened.
  await page.keyboard.press('Escape');
  editorText = normalize(await editor.locator('.view-lines').innerText()).replace(/\s+/g, ' ').trim();
  if (editorText !== QUERY) {
    throw new Error(`operation editor holds ${JSON.stringify(editorText)}, expected ${JSON.stringify(QUERY)}`);
  }

  // GraphiQL derives the operation name from the editor with a debounce: wait
  // until the tab is named after the typed operation, as an editor would see it.
  steps.push('wait for operation name');
  await page.waitForFunction(
    () => [...document.querySelectorAll('.graphiql-tab')].some((t) => /EditorCheck/.test(t.textContent || '')),
    null,
    { timeout: 15000 },
  );
  await page.waitForTimeout(300);

  steps.push('run');
  await page.locator('button.graphiql-execute-button').click();

  steps.push('wait for result');
  // The response editor wraps long lines, so compare without whitespace.
  await page.waitForFunction(
    (title) => {
      const squash = (text) => (text || '').replace(/\s+/g, '');
      return squash(document.querySelector('.graphiql-response')?.textContent).includes(squash(title));
    },
    TITLE,
  );
  resultText = normalize(await page.locator('.graphiql-response .view-lines').first().innerText());

  steps.push('screenshot');
  await page.screenshot({ path: screenshotPath, fullPage: true });
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
    // A screenshot of the failure helps more than none.
    await page.screenshot({ path: screenshotPath, fullPage: true, timeout: 5_000 }).catch(() => {});
  }
  try {
    await browser?.close();
  } catch {
    // ignore
  }
  const squash = (text) => normalize(text).replace(/\s+/g, '');
  const titleFound = squash(resultText).includes(squash(TITLE));
  const ok = !error && titleFound && failedRequests.length === 0 && consoleErrors.length === 0;
  const summary = { ok, error, titleFound, failedRequests, consoleErrors, resultText, editorText, steps };
  // Exit only once stdout is flushed: a pipe would otherwise cut the summary.
  process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`, () => process.exit(ok ? 0 : 1));
}

try {
  await run();
} catch (err) {
  error = error || `${steps.at(-1) ?? 'start'}: ${err?.message ?? err}`;
}
await finish();
