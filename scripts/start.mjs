/**
 * `npm start`: the club, compiled. Builds dist/ first when a source is newer than the last build
 * (the first start, after a `git pull` or an edit: a few hundred ms), then runs dist/main.js in
 * this same process, so SIGTERM and SIGKILL reach the club itself. An image or a server that ran
 * `npm run build` beforehand may run `node dist/main.js` directly.
 */
import { buildIfStale } from './build.mjs';

await buildIfStale();
await import('../dist/main.js');
