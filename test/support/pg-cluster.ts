import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chown, mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** PostgreSQL 15's server programs as Debian installs them. */
export const PG_BIN = '/usr/lib/postgresql/15/bin';

export const privateClusterAvailable = () => existsSync(path.join(PG_BIN, 'initdb')) && existsSync(path.join(PG_BIN, 'pg_ctl'));

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/**
 * A PostgreSQL server of the test's own, in a temporary directory on a free port, which the test
 * may stop and start (the shared server on 5432 serves other tests and people). initdb and pg_ctl
 * refuse to run as root, so as root they run as the `postgres` user, on a directory it owns.
 */
export class PrivateCluster {
  private constructor(
    private readonly dir: string,
    readonly port: number,
    private readonly owner: { uid: number; gid: number } | null,
  ) {}

  static async create(): Promise<PrivateCluster> {
    const dir = await mkdtemp('/tmp/bashgah-pg-');
    let owner: { uid: number; gid: number } | null = null;
    if (process.getuid?.() === 0) {
      const ids = async (flag: string) => Number((await run('id', [flag, 'postgres'])).stdout.trim());
      owner = { uid: await ids('-u'), gid: await ids('-g') };
      await chown(dir, owner.uid, owner.gid);
    }
    const cluster = new PrivateCluster(dir, await freePort(), owner);
    await cluster.pg('initdb', ['-D', cluster.dataDir, '-U', 'postgres', '-A', 'trust', '-E', 'UTF8', '--locale=C', '--no-sync', '--no-instructions']);
    return cluster;
  }

  get dataDir() {
    return path.join(this.dir, 'data');
  }

  get url() {
    return `postgres://postgres@127.0.0.1:${this.port}/postgres`;
  }

  /** Returns once the server accepts connections. */
  async start() {
    const options = `-p ${this.port} -k ${this.dir} -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off`;
    await this.pg('pg_ctl', ['-D', this.dataDir, '-l', path.join(this.dir, 'server.log'), '-o', options, '-w', 'start']);
  }

  /** A fast shutdown, as a restart or a failover does it: sessions are terminated, then the server exits. */
  async stop() {
    await this.pg('pg_ctl', ['-D', this.dataDir, '-m', 'fast', '-w', 'stop']);
  }

  async destroy() {
    await this.pg('pg_ctl', ['-D', this.dataDir, '-m', 'immediate', '-w', 'stop']).catch(() => undefined);
    await rm(this.dir, { recursive: true, force: true });
  }

  private async pg(program: string, args: string[]) {
    const binary = path.join(PG_BIN, program);
    const [command, argv] = this.owner ? ['runuser', ['-u', 'postgres', '--', binary, ...args]] : [binary, args];
    await run(command, argv as string[], { cwd: this.dir, timeout: 30_000 });
  }
}
