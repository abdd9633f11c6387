// Drives the editor preview in headless Chromium like an editor would.
//
//   node tests/browser/preview.mjs <base-url> <screenshot.png> <editor-token>
//
// 1. Opens <base>/preview/ketamine--als without credentials: the 401 sign-in page.
// 2. Opens GraphiQL, puts {"Authorization": "Bearer <token>"} in its Headers tab and
//    uses the toolbar's Preview control, which POSTs the header to /preview/session
//    (fetch from the page; the answer sets the preview cookie) and opens the preview
//    in a new tab.
// 3. In that tab: the review's H1 and the status banner are visible; a full-page
//    screenshot is saved; the "What readers see" link renders the reader view.
// Prints a JSON summary {ok, failedRequests, consoleErrors, cspViolations, ...} and
// exits non-zero on any failed request, console error, CSP violation, missing
// element or timeout (the one expected 401 of step 1 aside).
import { chromium } from 'playwright-core';

const base = (process.argv[2] || '').replace(/\/+$/, '');
const screenshotPath = process.argv[3];
const token = process.argv[4];
if (!base || !screenshotPath || !token) {
  console.error('usage: node tests/browser/preview.mjs <base-url> <screenshot.png> <editor-token>');
  process.exit(2);
}

const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
const SLUG = 'ketamine--als';
const TITLE =
  'Is Ketamine (IV / Esketamine) Safe for ALS (Amyotrophic Lateral Sclerosis) Patients? — Research Review';
const PREVIEW_URL = `${base}/preview/${SLUG}`;
const OVERALL_MS = 90_000;

const failedRequests = [];
const consoleErrors = [];
const steps = [];
const seen = {};
let expect401 = false;
let browser;
let page;
let preview;

const normalize = (text) => (text || '').replace(/\u00a0/g, ' ').replace(/\s+/g, ' ').trim();

function watch(target) {
  target.on('requestfailed', (request) => {
    failedRequests.push({
      url: request.url(),
      method: request.method(),
      error: request.failure()?.errorText ?? 'failed',
    });
  });
  target.on('response', (response) => {
    const expected = expect401 && response.status() === 401 && response.url() === PREVIEW_URL;
    if (response.status() >= 400 && !expected) {
      failedRequests.push({
        url: response.url(),
        method: response.request().method(),
        status: response.status(),
      });
    }
  });
  target.on('console', (message) => {
    if (message.type() !== 'error') return;
    // Chromium logs the expected 401 of step 1 as a failed resource.
    if (expect401 && /status of 401/.test(message.text())) return;
    consoleErrors.push({ text: message.text(), location: message.location()?.url ?? '' });
  });
  target.on('pageerror', (error) => consoleErrors.push({ text: `pageerror: ${error.message}` }));
}

async function cspViolations(target) {
  if (!target || target.isClosed()) return [];
  return target.evaluate(() => window.__cspViolations || []).catch(() => []);
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
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  // Injected by the DevTools protocol, so it runs even under the pages' strict CSP.
  await context.addInitScript(() => {
    window.__cspViolations = [];
    document.addEventListener('securitypolicyviolation', (event) => {
      window.__cspViolations.push({
        directive: event.violatedDirective,
        blocked: event.blockedURI,
        source: event.sourceFile,
      });
    });
  });
  context.on('page', watch);
  page = await context.newPage();
  page.setDefaultTimeout(30_000);

  steps.push('anonymous preview');
  expect401 = true;
  const denied = await page.goto(PREVIEW_URL, { waitUntil: 'load' });
  seen.anonymousStatus = denied?.status() ?? null;
  if (seen.anonymousStatus !== 401) throw new Error(`GET ${PREVIEW_URL} answered ${seen.anonymousStatus}, not 401`);
  await page.locator('h1', { hasText: 'Sign in to preview' }).waitFor({ state: 'visible' });
  seen.anonymousCsp = await cspViolations(page);
  await page.waitForTimeout(200);
  expect401 = false;

  steps.push('open graphiql');
  await page.goto(`${base}/graphql`, { waitUntil: 'load' });
  await page.locator('.graphiql-query-editor .monaco-editor').first().waitFor({ state: 'visible' });
  await page.waitForFunction(
    () => (document.querySelector('.graphiql-query-editor .view-lines')?.textContent || '').trim().length > 0,
  );

  steps.push('preview without a header');
  const button = page.locator('[data-testid="preview-button"]');
  await button.click();
  const slugInput = page.locator('[data-testid="preview-slug"]');
  await slugInput.waitFor({ state: 'visible' });
  seen.guessedSlug = await slugInput.inputValue();
  await page.locator('[data-testid="preview-open"]').click();
  const message = page.locator('[data-testid="preview-message"]');
  await message.waitFor({ state: 'visible' });
  seen.missingHeaderMessage = normalize(await message.innerText());
  if (!seen.missingHeaderMessage.includes('Authorization')) {
    throw new Error(`no hint about the missing header: ${JSON.stringify(seen.missingHeaderMessage)}`);
  }
  await page.keyboard.press('Escape');
  await slugInput.waitFor({ state: 'detached' });

  steps.push('type the header');
  await page.locator('.graphiql-editor-tools button[data-name="headers"]').click();
  const headersEditor = page.locator('.graphiql-editor-tool .monaco-editor').last();
  await headersEditor.waitFor({ state: 'visible' });
  await headersEditor.locator('.view-lines').click();
  const selectAll = process.platform === 'darwin' ? 'Meta+A' : 'Control+A';
  await page.keyboard.press(selectAll);
  await page.keyboard.press('Delete');
  const headers = `{"Authorization": "Bearer ${token}"}`;
  await page.keyboard.type(headers, { delay: 5 });
  await page.keyboard.press('Escape');
  const typed = normalize(await headersEditor.locator('.view-lines').innerText());
  seen.headersTyped = typed.replace(token, '<token>');
  if (typed.replace(/\s+/g, '') !== headers.replace(/\s+/g, '')) {
    throw new Error(`headers editor holds ${JSON.stringify(seen.headersTyped)}`);
  }

  steps.push('sign in and open the preview');
  await button.click();
  await slugInput.waitFor({ state: 'visible' });
  await slugInput.fill(SLUG);
  const [popup, signIn] = await Promise.all([
    context.waitForEvent('page'),
    page.waitForResponse((r) => r.url() === `${base}/preview/session` && r.request().method() === 'POST'),
    page.locator('[data-testid="preview-open"]').click(),
  ]);
  seen.sessionStatus = signIn.status();
  preview = popup;
  preview.setDefaultTimeout(30_000);
  await preview.waitForLoadState('load');
  seen.previewUrl = preview.url();
  seen.dialogMessage = normalize(await message.innerText());

  steps.push('check the preview');
  const h1 = preview.locator('main h1');
  await h1.waitFor({ state: 'visible' });
  seen.h1 = normalize(await h1.innerText());
  const banner = preview.locator('#preview-banner');
  await banner.waitFor({ state: 'visible' });
  seen.banner = normalize(await banner.innerText());
  seen.status = normalize(await preview.locator('#status').innerText());
  seen.bannerVisible = await banner.isVisible();
  seen.sectionCount = await preview.locator('main section').count();
  if (seen.h1 !== TITLE) throw new Error(`preview H1 is ${JSON.stringify(seen.h1)}`);

  steps.push('screenshot');
  await preview.screenshot({ path: screenshotPath, fullPage: true });
  seen.previewCsp = await cspViolations(preview);

  steps.push('reader view');
  await Promise.all([preview.waitForNavigation({ waitUntil: 'load' }), preview.locator('a.switch').click()]);
  seen.readerUrl = preview.url();
  seen.readerBanner = normalize(await preview.locator('#preview-banner').innerText());
  seen.readerH1 = normalize(await preview.locator('main h1').innerText());
  seen.readerCsp = await cspViolations(preview);
  seen.graphiqlCsp = await cspViolations(page);
  // Let late requests (favicon, chunks) report before the summary.
  await preview.waitForTimeout(500);
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
  if (error) {
    // A screenshot of the failure helps more than none.
    const target = preview && !preview.isClosed() ? preview : page;
    await target?.screenshot({ path: screenshotPath, fullPage: true, timeout: 5_000 }).catch(() => {});
  }
  try {
    await browser?.close();
  } catch {
    // ignore
  }
  const cspViolationList = [
    ...(seen.anonymousCsp || []),
    ...(seen.previewCsp || []),
    ...(seen.readerCsp || []),
    ...(seen.graphiqlCsp || []),
  ];
  const ok =
    !error &&
    seen.h1 === TITLE &&
    seen.bannerVisible === true &&
    failedRequests.length === 0 &&
    consoleErrors.length === 0 &&
    cspViolationList.length === 0;
  const summary = {
    ok,
    error,
    failedRequests,
    consoleErrors,
    cspViolations: cspViolationList,
    ...seen,
    steps,
  };
  delete summary.anonymousCsp;
  delete summary.previewCsp;
  delete summary.readerCsp;
  delete summary.graphiqlCsp;
  // Exit only once stdout is flushed: a pipe would otherwise cut the summary.
  process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`, () => process.exit(ok ? 0 : 1));
}

try {
  await run();
} catch (err) {
  error = error || `${steps.at(-1) ?? 'start'}: ${err?.message ?? err}`;
}
await finish();
