import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';

/** The repository's root: where `npm start` runs. */
export const ROOT = path.resolve(import.meta.dirname, '../..');

/**
 * What `npm start` runs (the compiled club, dist/, which global-setup.ts builds first if a source
 * changed), as node itself rather than through npm: SIGKILL and SIGTERM must reach the club's own
 * process.
 */
export const START = [process.execPath, ['scripts/start.mjs']] as const;

/** Polls until the condition holds; on time-out says what `describe` gives (a process's output, say). */
export async function waitUntil(condition: () => boolean, timeoutMs = 5000, describe: () => string = () => '') {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) {
      const said = describe();
      throw new Error(said ? `timed out; output so far:\n${said}` : 'timed out');
    }
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Resolves with the signal that ended the process, or its exit code. */
export const exited = (child: ChildProcess) => new Promise<NodeJS.Signals | number | null>((resolve) => child.once('exit', (code, signal) => resolve(signal ?? code)));

export interface ClubProcess {
  child: ChildProcess;
  /** Everything it wrote to stdout and stderr so far. */
  output: () => string;
}

/** Starts `npm start`'s command with this environment and waits for the line that says it is ready. */
export async function startClubProcess(env: NodeJS.ProcessEnv, ready: string | RegExp = 'bot is running', timeoutMs = 60_000): Promise<ClubProcess> {
  const child = spawn(START[0], [...START[1]], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (b) => (output += b));
  child.stderr!.on('data', (b) => (output += b));
  const isReady = () => (typeof ready === 'string' ? output.includes(ready) : ready.test(output));
  try {
    await waitUntil(() => isReady() || child.exitCode !== null, timeoutMs, () => output);
  } catch (error) {
    child.kill('SIGKILL');
    throw error;
  }
  if (!isReady()) throw new Error(`the club exited (${child.exitCode}) before it was ready:\n${output}`);
  return { child, output: () => output };
}
