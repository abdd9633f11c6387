// GraphiQL for Compendium, bundled by web/build.mjs into server/static/graphiql/.
//
// Everything is served by the API itself: no CDN, no external request, so the
// page runs under a strict Content-Security-Policy (script-src/worker-src 'self').
// The page passes its settings in <script type="application/json" id="graphiql-config">.
import { useState } from 'react';
import { createRoot } from 'react-dom/client';
import { GraphiQL, HISTORY_PLUGIN } from 'graphiql';
import { Button, Dialog, ToolbarButton, useGraphiQL } from '@graphiql/react';
import { explorerPlugin } from '@graphiql/plugin-explorer';
import { createGraphiQLFetcher } from '@graphiql/toolkit';

import 'graphiql/style.css';
import '@graphiql/plugin-explorer/style.css';
import './page.css';

// Monaco runs its language services in web workers. graphiql 5 ships worker
// setups for Vite, webpack and esm.sh only; for esbuild the three workers are
// bundled as classic scripts next to this module (see web/build.mjs) and
// loaded from the same origin.
const WORKERS = {
  json: 'workers/json.worker.js',
  graphql: 'workers/graphql.worker.js',
  editor: 'workers/editor.worker.js',
};

globalThis.MonacoEnvironment = {
  getWorker(_workerId, label) {
    const file = WORKERS[label] ?? WORKERS.editor;
    return new Worker(new URL(file, import.meta.url), { name: `monaco-${label}` });
  },
};

function readConfig() {
  const element = document.getElementById('graphiql-config');
  let config = {};
  if (element) {
    try {
      config = JSON.parse(element.textContent || '{}');
    } catch (error) {
      console.warn('graphiql-config is not valid JSON', error);
    }
  }
  return {
    endpoint: config.endpoint || '/graphql',
    defaultQuery: config.defaultQuery ?? '',
    defaultVariables: config.defaultVariables ?? '',
    defaultHeaders: config.defaultHeaders ?? '',
    // The editorial jobs, one tab each (server/editor_tabs.py): {name, query, variables, headers}.
    tabs: Array.isArray(config.tabs) ? config.tabs : [],
    revisionQuery: config.revisionQuery || '',
  };
}

// GraphiQL 5 puts a tab's default query in the editor but not its variables:
// the variables editor starts from `initialVariables` (or what is stored).
// Seed it on a first visit only, so a returning user keeps their edits.
function isFirstVisit() {
  try {
    return (
      window.localStorage.getItem('graphiql:tabState') === null &&
      window.localStorage.getItem('graphiql:variables') === null
    );
  } catch {
    return true;
  }
}

// GraphiQL reopens a returning visitor's stored tabs and ignores defaultTabs: add the
// editorial tabs they were never offered (those from before a tab existed), once each,
// so a tab the editor closed stays closed. Tab state entries need exactly these fields
// (@graphiql/react's isTabState); the hash is recomputed on load.
const OFFERED_KEY = 'compendium:offeredTabs';

function offerEditorialTabs(tabs) {
  try {
    const storage = window.localStorage;
    const offered = new Set(parseJsonArray(storage.getItem(OFFERED_KEY)));
    const stored = storage.getItem('graphiql:tabState');
    const state = stored === null ? null : JSON.parse(stored);
    if (state && Array.isArray(state.tabs)) {
      const titles = new Set(state.tabs.map((tab) => tab?.title));
      const missing = tabs.filter((tab) => !offered.has(tab.name) && !titles.has(tab.name));
      for (const tab of missing) {
        state.tabs.push({
          id: `compendium-${tab.name}-${Date.now()}`,
          title: tab.name,
          query: tab.query,
          variables: tab.variables,
          headers: tab.headers,
          operationName: tab.name,
          response: null,
        });
      }
      if (missing.length) storage.setItem('graphiql:tabState', JSON.stringify(state));
    }
    for (const tab of tabs) offered.add(tab.name);
    storage.setItem(OFFERED_KEY, JSON.stringify([...offered]));
  } catch (error) {
    console.warn('could not add the editorial tabs to the stored ones', error);
  }
}

function parseJsonArray(text) {
  try {
    const value = JSON.parse(text || '[]');
    return Array.isArray(value) ? value : [];
  } catch {
    return [];
  }
}

const config = readConfig();
const initialVariables = isFirstVisit() ? config.defaultVariables : undefined;
offerEditorialTabs(config.tabs);
const endpoint = new URL(config.endpoint, window.location.href).toString();
const fetcher = createGraphiQLFetcher({ url: endpoint });
const plugins = [HISTORY_PLUGIN, explorerPlugin()];

// --- Preview: open a review page as an editor ------------------------------------------
//
// Editors authenticate with `Authorization: Bearer <token>` in the Headers tab.
// A browser tab cannot send that header when it opens a link, so the Preview
// control trades it for a cookie that only the read-only /preview pages accept
// (POST /preview/session, see server/preview.py), then opens /preview/<slug>.

const PREVIEW_BASE = new URL('preview/', endpoint);
const SLUG = /^[a-z0-9]+(?:-{1,2}[a-z0-9]+)*$/;

function parseJson(text) {
  try {
    const value = JSON.parse(text || '{}');
    return value && typeof value === 'object' ? value : null;
  } catch {
    return null;
  }
}

// The first string "slug" in a JSON value (depth-first), e.g. from the last result.
function findSlug(value, depth = 0) {
  if (!value || typeof value !== 'object' || depth > 8) return '';
  if (typeof value.slug === 'string' && SLUG.test(value.slug)) return value.slug;
  for (const child of Object.values(value)) {
    const found = findSlug(child, depth + 1);
    if (found) return found;
  }
  return '';
}

function authorizationOf(headersText) {
  const headers = parseJson(headersText);
  if (headers === null) return { error: 'The Headers tab does not hold valid JSON.' };
  const key = Object.keys(headers).find((name) => name.toLowerCase() === 'authorization');
  const value = key ? headers[key] : '';
  if (typeof value !== 'string' || !value.trim()) {
    return { error: 'Put {"Authorization": "Bearer <token>"} in the Headers tab first (an editor token).' };
  }
  if (value.includes('<editor token>')) {
    return { error: 'Replace <editor token> in the Headers tab with your editor token.' };
  }
  return { value: value.trim() };
}

async function errorMessage(response) {
  try {
    const body = await response.json();
    const message = body?.errors?.[0]?.message;
    if (message) return `${message} (HTTP ${response.status})`;
  } catch {
    // not JSON: fall through
  }
  return `the server answered HTTP ${response.status}`;
}

const PreviewIcon = () => (
  <svg className="graphiql-toolbar-icon" viewBox="0 0 24 24" fill="none" stroke="currentColor"
    strokeWidth="1.5" strokeLinecap="round" strokeLinejoin="round" aria-hidden="true">
    <path d="M2 12s3.6-7 10-7 10 7 10 7-3.6 7-10 7S2 12 2 12z" />
    <circle cx="12" cy="12" r="3" />
  </svg>
);

const inputStyle = {
  width: '100%',
  boxSizing: 'border-box',
  marginTop: '8px',
  padding: '6px 8px',
  font: 'inherit',
  color: 'inherit',
  background: 'transparent',
  border: '1px solid hsla(var(--color-neutral), var(--alpha-background-heavy))',
  borderRadius: 'var(--border-radius-4)',
};
const rowStyle = { display: 'flex', gap: '8px', marginTop: '12px', flexWrap: 'wrap' };

function PreviewControl() {
  const headerEditor = useGraphiQL((state) => state.headerEditor);
  const variableEditor = useGraphiQL((state) => state.variableEditor);
  const responseEditor = useGraphiQL((state) => state.responseEditor);
  const activeTab = useGraphiQL((state) => state.tabs[state.activeTabIndex]);
  const [open, setOpen] = useState(false);
  const [slug, setSlug] = useState('');
  const [busy, setBusy] = useState(false);
  const [message, setMessage] = useState(null); // {kind: 'error' | 'ok', text, href?}

  const guessSlug = () =>
    findSlug(parseJson(variableEditor?.getValue() ?? activeTab?.variables)) ||
    findSlug(parseJson(responseEditor?.getValue() ?? activeTab?.response));

  const onOpenChange = (next) => {
    if (next) {
      setSlug((current) => current || guessSlug());
      setMessage(null);
    }
    setOpen(next);
  };

  const openPreview = async (event) => {
    event.preventDefault();
    const wanted = slug.trim();
    if (!SLUG.test(wanted)) {
      setMessage({ kind: 'error', text: 'Give a review slug, e.g. ketamine--als.' });
      return;
    }
    const auth = authorizationOf(headerEditor?.getValue() ?? activeTab?.headers ?? '');
    if (auth.error) {
      setMessage({ kind: 'error', text: auth.error });
      return;
    }
    setBusy(true);
    setMessage(null);
    try {
      const response = await fetch(new URL('session', PREVIEW_BASE), {
        method: 'POST',
        headers: { Authorization: auth.value },
        credentials: 'same-origin',
      });
      if (!response.ok) {
        setMessage({ kind: 'error', text: `Sign-in refused: ${await errorMessage(response)}.` });
        return;
      }
      const href = new URL(encodeURIComponent(wanted), PREVIEW_BASE).toString();
      window.open(href, '_blank', 'noopener');
      setMessage({ kind: 'ok', text: 'Signed in for previews. The page opens in a new tab:', href });
    } catch (error) {
      setMessage({ kind: 'error', text: `Could not reach the server: ${error?.message ?? error}` });
    } finally {
      setBusy(false);
    }
  };

  const signOut = async () => {
    setBusy(true);
    try {
      const response = await fetch(new URL('session', PREVIEW_BASE), {
        method: 'DELETE',
        credentials: 'same-origin',
      });
      setMessage(
        response.ok
          ? { kind: 'ok', text: 'Signed out: preview pages need the token again.' }
          : { kind: 'error', text: `Sign-out failed: ${await errorMessage(response)}.` },
      );
    } catch (error) {
      setMessage({ kind: 'error', text: `Could not reach the server: ${error?.message ?? error}` });
    } finally {
      setBusy(false);
    }
  };

  return (
    <>
      <ToolbarButton label="Preview a review page (editors)" onClick={() => onOpenChange(true)}
        data-testid="preview-button">
        <PreviewIcon />
      </ToolbarButton>
      <Dialog open={open} onOpenChange={onOpenChange}>
        <div className="graphiql-dialog-header">
          <Dialog.Title className="graphiql-dialog-title">Preview a review</Dialog.Title>
          <Dialog.Close />
        </div>
        <form className="graphiql-dialog-section" onSubmit={openPreview} data-testid="preview-form">
          {/* One child: the section's flex layout indents all but the first. */}
          <div style={{ width: '100%' }}>
            <Dialog.Description className="graphiql-dialog-section-caption">
              Opens the page as readers would see it, drafts included, using the editor token of
              the Authorization header in the Headers tab. The token is kept in a cookie for the
              preview pages only.
            </Dialog.Description>
            <label style={{ display: 'block', marginTop: '16px', fontWeight: 'var(--font-weight-medium)' }}>
              Review slug
              <input type="text" value={slug} onChange={(e) => setSlug(e.target.value)}
                placeholder="ketamine--als" spellCheck={false} autoComplete="off"
                name="slug" data-testid="preview-slug" style={inputStyle} />
            </label>
            <div style={rowStyle}>
              <Button type="submit" disabled={busy} data-testid="preview-open">Open preview</Button>
              <Button type="button" disabled={busy} onClick={signOut}>Sign out of previews</Button>
            </div>
            {message && (
              <p role={message.kind === 'error' ? 'alert' : 'status'} data-testid="preview-message"
                style={{ margin: '12px 0 0', color: message.kind === 'error' ? 'hsl(var(--color-error))' : 'inherit' }}>
                {message.text}{' '}
                {message.href && (
                  <a href={message.href} target="_blank" rel="noopener noreferrer">{message.href}</a>
                )}
              </p>
            )}
          </div>
        </form>
      </Dialog>
    </>
  );
}

// --- Fill expectedRevision: look up the revision a workflow mutation needs ----------------
//
// The workflow mutations take the `revision` the editor last read as `expectedRevision`.
// This control reads `slug` (and `key`, for a section) from the Variables tab, asks
// /graphql for the working copy's revision with the tab's own headers (the editor token),
// and writes it into the variables: the section's revision when `key` names one (for
// updateSection / resetSection), else the review's.

async function lookUpRevision(headers, slug, key) {
  const response = await fetch(endpoint, {
    method: 'POST',
    headers: { ...headers, 'Content-Type': 'application/json', Accept: 'application/json' },
    body: JSON.stringify({ query: config.revisionQuery, variables: { slug }, operationName: 'ExpectedRevision' }),
    credentials: 'same-origin',
  });
  if (!response.ok) return { error: `The lookup failed: ${await errorMessage(response)}.` };
  const body = await response.json();
  if (body?.errors?.length) return { error: `The lookup failed: ${body.errors[0].message}` };
  const review = body?.data?.review;
  if (!review) return { error: `There is no review with the slug ${slug} (or your token may not see it).` };
  if (!key) return { value: review.revision };
  const section = (review.sections || []).find((s) => s.key === key);
  if (!section || typeof section.revision !== 'number') {
    return { error: `The review ${slug} has no section ${key}.` };
  }
  return { value: section.revision };
}

const RevisionIcon = () => (
  <svg className="graphiql-toolbar-icon" viewBox="0 0 24 24" fill="none" stroke="currentColor"
    strokeWidth="1.5" strokeLinecap="round" strokeLinejoin="round" aria-hidden="true">
    <path d="M4 12a8 8 0 1 0 2.3-5.6M4 4v4h4" />
    <path d="M12 8v4l3 2" />
  </svg>
);

function FillRevisionControl() {
  const headerEditor = useGraphiQL((state) => state.headerEditor);
  const variableEditor = useGraphiQL((state) => state.variableEditor);
  const activeTab = useGraphiQL((state) => state.tabs[state.activeTabIndex]);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(null);

  const fill = async () => {
    const variables = parseJson(variableEditor?.getValue() ?? activeTab?.variables);
    if (variables === null) return setError('The Variables tab does not hold a valid JSON object.');
    const slug = typeof variables.slug === 'string' ? variables.slug.trim() : '';
    if (!SLUG.test(slug)) return setError('Put the review\'s "slug" in the variables first, e.g. "ketamine--als".');
    const key = typeof variables.key === 'string' ? variables.key : '';
    const auth = authorizationOf(headerEditor?.getValue() ?? activeTab?.headers ?? '');
    if (auth.error) return setError(auth.error);
    setBusy(true);
    try {
      const found = await lookUpRevision({ Authorization: auth.value }, slug, key);
      if (found.error) return setError(found.error);
      const filled = JSON.stringify({ ...variables, expectedRevision: found.value }, null, 2);
      variableEditor?.setValue(filled);
      setError(null);
    } catch (err) {
      setError(`Could not reach the server: ${err?.message ?? err}`);
    } finally {
      setBusy(false);
    }
  };

  return (
    <>
      <ToolbarButton label={busy ? 'Looking up expectedRevision…' : 'Fill expectedRevision (for the slug in the variables)'}
        onClick={fill} disabled={busy} data-testid="fill-revision">
        <RevisionIcon />
      </ToolbarButton>
      <Dialog open={error !== null} onOpenChange={(next) => !next && setError(null)}>
        <div className="graphiql-dialog-header">
          <Dialog.Title className="graphiql-dialog-title">Fill expectedRevision</Dialog.Title>
          <Dialog.Close />
        </div>
        <div className="graphiql-dialog-section">
          <Dialog.Description role="alert" data-testid="fill-revision-message"
            style={{ margin: 0, color: 'hsl(var(--color-error))' }}>
            {error}
          </Dialog.Description>
        </div>
      </Dialog>
    </>
  );
}

const container = document.getElementById('graphiql');
createRoot(container).render(
  <GraphiQL
    fetcher={fetcher}
    plugins={plugins}
    defaultQuery={config.defaultQuery}
    defaultHeaders={config.defaultHeaders}
    defaultTabs={[
      {
        query: config.defaultQuery,
        variables: config.defaultVariables,
        headers: config.defaultHeaders,
      },
      ...config.tabs.map((tab) => ({ query: tab.query, variables: tab.variables, headers: tab.headers })),
    ]}
    initialVariables={initialVariables}
    defaultEditorToolsVisibility={config.defaultVariables ? 'variables' : true}
    isHeadersEditorEnabled
    shouldPersistHeaders={false}
  >
    <GraphiQL.Toolbar>
      {({ prettify, merge, copy }) => (
        <>
          {prettify}
          {merge}
          {copy}
          <PreviewControl />
          <FillRevisionControl />
        </>
      )}
    </GraphiQL.Toolbar>
  </GraphiQL>,
);
