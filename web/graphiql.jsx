// GraphiQL for Compendium, bundled by web/build.mjs into server/static/graphiql/.
//
// Everything is served by the API itself: no CDN, no external request, so the
// page runs under a strict Content-Security-Policy (script-src/worker-src 'self').
// The page passes its settings in <script type="application/json" id="graphiql-config">.
import { createRoot } from 'react-dom/client';
import { GraphiQL, HISTORY_PLUGIN } from 'graphiql';
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

const config = readConfig();
const initialVariables = isFirstVisit() ? config.defaultVariables : undefined;
const endpoint = new URL(config.endpoint, window.location.href).toString();
const fetcher = createGraphiQLFetcher({ url: endpoint });
const plugins = [HISTORY_PLUGIN, explorerPlugin()];

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
    ]}
    initialVariables={initialVariables}
    defaultEditorToolsVisibility={config.defaultVariables ? 'variables' : true}
    isHeadersEditorEnabled
    shouldPersistHeaders={false}
  />,
);
