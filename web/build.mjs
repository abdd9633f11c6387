// Bundles web/graphiql.jsx (GraphiQL 5 + the explorer plugin) and Monaco's web
// workers into server/static/graphiql/, which server/graphiql.py serves at
// /graphiql/static/. Run with `npm ci && npm run build`.
//
// Output:
//   graphiql.js, graphiql.css  the page's module script and stylesheet
//   chunks/*.js                lazily imported code (monaco, prettier), loaded by graphiql.js
//   workers/*.worker.js        monaco's editor, JSON and GraphQL workers (classic scripts)
//   assets/*                   fonts referenced by the CSS
import { rm, mkdir, readdir, stat } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import * as esbuild from 'esbuild';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const outdir = path.join(root, 'server', 'static', 'graphiql');

const common = {
  bundle: true,
  minify: true,
  sourcemap: false,
  legalComments: 'none',
  target: ['es2022', 'chrome111', 'firefox111', 'safari16.4'],
  define: { 'process.env.NODE_ENV': '"production"' },
  logLevel: 'warning',
  absWorkingDir: root,
};

await rm(outdir, { recursive: true, force: true });
await mkdir(outdir, { recursive: true });

// The application: an ES module so the lazily imported monaco / prettier code
// is split into chunks and import.meta.url locates the workers.
await esbuild.build({
  ...common,
  entryPoints: { graphiql: 'web/graphiql.jsx' },
  outdir,
  format: 'esm',
  splitting: true,
  chunkNames: 'chunks/[name]-[hash]',
  assetNames: 'assets/[name]-[hash]',
  jsx: 'automatic',
  loader: { '.ttf': 'file', '.woff': 'file', '.woff2': 'file', '.svg': 'file', '.png': 'file' },
  // Only needed for subscriptions over websockets (subscriptionUrl), which
  // Compendium does not use; @graphiql/toolkit imports it lazily.
  external: ['graphql-ws'],
});

// Monaco's workers, one classic-script bundle each.
await esbuild.build({
  ...common,
  entryPoints: {
    'editor.worker': 'monaco-editor/esm/vs/editor/editor.worker.js',
    'json.worker': 'monaco-editor/esm/vs/language/json/json.worker.js',
    'graphql.worker': 'monaco-graphql/esm/graphql.worker.js',
  },
  outdir: path.join(outdir, 'workers'),
  format: 'iife',
});

async function walk(dir) {
  const out = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await walk(full)));
    else out.push([path.relative(outdir, full), (await stat(full)).size]);
  }
  return out;
}

const files = (await walk(outdir)).sort();
let total = 0;
for (const [name, size] of files) {
  total += size;
  if (!name.startsWith('chunks/')) console.log(`${(size / 1024).toFixed(0).padStart(7)} KiB  ${name}`);
}
const chunks = files.filter(([name]) => name.startsWith('chunks/'));
const chunkBytes = chunks.reduce((sum, [, size]) => sum + size, 0);
console.log(`${(chunkBytes / 1024).toFixed(0).padStart(7)} KiB  chunks/ (${chunks.length} files)`);
console.log(`${(total / 1024).toFixed(0).padStart(7)} KiB  total in ${path.relative(root, outdir)}/`);
