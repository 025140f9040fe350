/**
 * `npm run build`: compiles the club's TypeScript ahead of time into dist/ (esbuild, one bundle of
 * src/ and most dependencies, split at its lazy imports), so `npm start` runs plain JavaScript instead of transpiling ~170
 * modules through tsx at every start (that was ~2 s of a ~4 s start, and tsx's caches and source
 * maps stayed in the process's memory). Tests and the scripts still run the TypeScript itself.
 *
 * Plain JavaScript (not TypeScript) so that checking whether a build is needed costs no transpiler:
 * scripts/start.mjs calls buildIfStale() before every start, which only looks at file times and
 * builds when a source is newer than the last build (the first start, after a `git pull`, after an edit).
 *
 *   node scripts/build.mjs              build now
 *   node scripts/build.mjs --if-stale   build only if a source changed since the last build
 */
import { closeSync, existsSync, openSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const DIST = path.join(ROOT, 'dist');
/** Written last: its time is the build's, and without it dist/ is an unfinished build. */
const STAMP = path.join(DIST, '.built');
/** What the build reads: a change to any of these makes the next start build again. */
const INPUTS = ['src', 'migrations', 'package.json', 'package-lock.json', 'scripts/build.mjs'];
const LOCK = path.join(ROOT, '.build.lock');

function newestChange(file) {
  const stat = statSync(file, { throwIfNoEntry: false });
  if (!stat) return 0;
  if (!stat.isDirectory()) return stat.mtimeMs;
  // A directory's own time moves when a file is added, removed or renamed in it.
  let newest = stat.mtimeMs;
  for (const entry of readdirSync(file)) newest = Math.max(newest, newestChange(path.join(file, entry)));
  return newest;
}

export function isStale() {
  const built = statSync(STAMP, { throwIfNoEntry: false });
  if (!built) return true;
  return INPUTS.some((input) => newestChange(path.join(ROOT, input)) > built.mtimeMs);
}

/**
 * Modules that find files beside their own source (locales/, migrations/, the playground's page,
 * node_modules/ through createRequire) compute them from import.meta.url or import.meta.dirname.
 * In the bundle those would name dist/<chunk>.js; this keeps them naming the module's source file,
 * so the same relative paths hold from dist/ as from src/.
 */
const ownLocation = (outdir) => ({
  name: 'own-location',
  setup(build) {
    build.onLoad({ filter: /\.ts$/ }, async (args) => {
      let contents = await readFile(args.path, 'utf8');
      if (contents.includes('import.meta.')) {
        const fromOut = (to) => path.relative(outdir, to).split(path.sep).join('/');
        contents = contents
          .replaceAll('import.meta.url', `new URL(${JSON.stringify(fromOut(args.path))}, import.meta.url).href`)
          .replaceAll('import.meta.dirname', `(import.meta.dirname + ${JSON.stringify(`/${fromOut(path.dirname(args.path))}`)})`);
      }
      return { contents, loader: 'ts' };
    });
  },
});

/**
 * Bundles `entryPoints` ({name: source}) into `outdir`. Also used by `npm run bench:updates` for its
 * bot processes, so the club it measures is compiled as `npm start` runs it.
 */
export async function bundle(entryPoints, outdir) {
  const { build: esbuild } = await import('esbuild');
  rmSync(outdir, { recursive: true, force: true });
  await esbuild({
    absWorkingDir: ROOT,
    entryPoints,
    outdir,
    bundle: true,
    // The dependencies are bundled too: resolving and loading their ~1,000 files one by one (kysely,
    // grammY, zod...) took ~0.5 s of a start. These stay in node_modules and load as they are: they
    // find files of their own beside their code (PGlite's WASM, canvas's native addon, pino's and
    // node-cron's worker scripts) or are large and loaded late anyway (exceljs, playwright).
    external: ['@electric-sql/pglite', '@napi-rs/canvas', 'pino', 'pino-pretty', 'thread-stream', 'node-cron', 'exceljs', 'playwright-core'],
    // CommonJS dependencies inside an ES module bundle call require() for Node's own modules.
    banner: { js: "import { createRequire as __bundleRequire } from 'node:module'; const require = __bundleRequire(import.meta.url);" },
    platform: 'node',
    format: 'esm',
    target: 'node20',
    // Dynamic imports (the playground, charts, the member card, each migration) become chunks
    // loaded only when first used.
    splitting: true,
    // Every chunk directly in dist/ (no subfolders): ownLocation() writes paths relative to it.
    chunkNames: '[name]-[hash]',
    // Error classes and log lines keep the names they have in the sources.
    keepNames: true,
    // For stack traces in TypeScript terms: NODE_OPTIONS=--enable-source-maps (not on by default:
    // it costs start time and memory).
    sourcemap: 'linked',
    logLevel: 'warning',
    plugins: [ownLocation(outdir)],
  });
}

export async function build() {
  // Built beside dist/ and swapped in at the end: a start that runs meanwhile sees the whole old
  // build or the whole new one. (ownLocation() wrote paths relative to the temporary folder, a
  // sibling of dist/ at the same depth, so they hold after the rename.)
  const outdir = `${DIST}.${process.pid}.tmp`;
  await bundle({ main: 'src/main.ts' }, outdir);
  writeFileSync(path.join(outdir, '.built'), `${new Date().toISOString()}\n`);
  const old = `${DIST}.${process.pid}.old`;
  if (existsSync(DIST)) renameSync(DIST, old);
  renameSync(outdir, DIST);
  rmSync(old, { recursive: true, force: true });
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Builds if a source changed since the last build; several starts at once build once. */
export async function buildIfStale() {
  if (!isStale()) return false;
  for (;;) {
    let lock;
    try {
      lock = openSync(LOCK, 'wx');
    } catch {
      // Another start is building: wait for it (a lock left by a killed build expires after a minute).
      const held = statSync(LOCK, { throwIfNoEntry: false });
      if (held && Date.now() - held.mtimeMs > 60_000) rmSync(LOCK, { force: true });
      await sleep(100);
      continue;
    }
    try {
      if (!isStale()) return false;
      await build();
      return true;
    } finally {
      closeSync(lock);
      rmSync(LOCK, { force: true });
    }
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const built = process.argv.includes('--if-stale') ? await buildIfStale() : (await build(), true);
  console.log(built ? `built ${path.relative(ROOT, DIST)}/` : `${path.relative(ROOT, DIST)}/ is up to date`);
}
