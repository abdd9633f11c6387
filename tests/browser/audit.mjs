// Runs every graphql-http server audit (the GraphQL-over-HTTP spec checks)
// against a running server.
//
//   node tests/browser/audit.mjs <base-url>
//
// Prints a JSON summary {url, counts: {ok, notice, warn, error}, results: [{id,
// name, status, reason}]} and exits 0 when no audit errored or warned, 1 otherwise.
import { serverAudits } from 'graphql-http';

const base = (process.argv[2] || '').replace(/\/+$/, '');
if (!base) {
  console.error('usage: node tests/browser/audit.mjs <base-url>');
  process.exit(2);
}
const url = `${base}/graphql`;

async function describeResponse(response) {
  if (!response) return undefined;
  let body = '';
  try {
    body = await response.clone().text();
  } catch {
    // the audit consumed the body already
  }
  return {
    status: response.status,
    contentType: response.headers.get('content-type'),
    body: body.slice(0, 500),
  };
}

const results = [];
for (const audit of serverAudits({ url, fetchFn: fetch })) {
  let result;
  try {
    result = await audit.fn();
  } catch (err) {
    result = { id: audit.id, name: audit.name, status: 'error', reason: `audit threw: ${err?.message ?? err}` };
  }
  const entry = { id: result.id, name: result.name, status: result.status };
  if (result.status !== 'ok') {
    entry.reason = result.reason;
    entry.response = await describeResponse(result.response);
  }
  results.push(entry);
}

const counts = { ok: 0, notice: 0, warn: 0, error: 0 };
for (const { status } of results) counts[status] = (counts[status] ?? 0) + 1;
const ok = counts.error === 0 && counts.warn === 0;
const summary = { ok, url, total: results.length, counts, results };
process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`, () => process.exit(ok ? 0 : 1));
