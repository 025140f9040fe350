import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

/**
 * The three ways the club is started (npm start, the container image, the systemd unit) give it the
 * same environment for glibc's malloc (README, Performance: the club's RSS on PGlite).
 */
const read = (path: string) => readFileSync(new URL(`../${path}`, import.meta.url), 'utf8');
const start = (JSON.parse(read('package.json')) as { scripts: { start: string } }).scripts.start;
const TUNABLES = /GLIBC_TUNABLES=\$\{GLIBC_TUNABLES:-([^}]+)\}/.exec(start)?.[1];

/** What `npm start`'s shell line gives the process it starts, as GLIBC_TUNABLES (node in place of the club). */
function startedWith(env: Record<string, string>): string {
  const line = start.replace(/node scripts\/start\.mjs$/, `"${process.execPath}" -e "process.stdout.write(process.env.GLIBC_TUNABLES ?? '')"`);
  expect(line).not.toBe(start);
  return execFileSync('/bin/sh', ['-c', line], { env: { PATH: process.env.PATH ?? '', ...env }, encoding: 'utf8' });
}

describe('how the club is started', () => {
  it('npm start sets the malloc tunables unless they are already set', () => {
    expect(TUNABLES).toMatch(/^glibc\.malloc\.trim_threshold=\d+:glibc\.malloc\.mmap_threshold=\d+$/);
    expect(startedWith({})).toBe(TUNABLES);
    expect(startedWith({ GLIBC_TUNABLES: '' })).toBe(TUNABLES);
    expect(startedWith({ GLIBC_TUNABLES: 'glibc.malloc.arena_max=2' })).toBe('glibc.malloc.arena_max=2');
  });

  it('the image and the systemd unit set the same ones', () => {
    expect(read('Dockerfile')).toMatch(new RegExp(`^ENV .*\\bGLIBC_TUNABLES=${TUNABLES!.replace(/\./g, '\\.')}$`, 'm'));
    expect(read('deploy/bashgah.service')).toContain(`\nEnvironment=GLIBC_TUNABLES=${TUNABLES}\n`);
  });
});
