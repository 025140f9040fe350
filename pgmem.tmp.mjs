import { readFileSync, mkdtempSync } from 'node:fs';
import v8 from 'node:v8';
function top(label) {
  const sizes = new Map(); let name = '';
  for (const line of readFileSync('/proc/self/smaps', 'utf8').split('\n')) {
    const head = /^([0-9a-f]+)-([0-9a-f]+) (\S+) \S+ \S+ \S+\s*(.*)$/.exec(line);
    if (head) { const sz = (parseInt(head[2],16)-parseInt(head[1],16))/2**20; name = head[4]?.replace(/^.*\/node_modules\//, '') || `[anon ${sz.toFixed(0)}M ${head[3]}]`; }
    else if (line.startsWith('Rss:')) sizes.set(name, (sizes.get(name) ?? 0) + Number(/(\d+)/.exec(line)[1]) / 1024);
  }
  console.log(label, process.memoryUsage.rss()/2**20|0, JSON.stringify(Object.fromEntries([...sizes].sort((a,b)=>b[1]-a[1]).slice(0,10).map(([k,v])=>[k,+v.toFixed(1)]))));
}
top('bare');
v8.setFlagsFromString(process.env.FLAGS ?? '--liftoff-only');
const { PGlite } = await import('@electric-sql/pglite');
top('imported');
const dir = process.argv[2] ?? mkdtempSync('/tmp/pgm-');
const pg = await PGlite.create(dir, { startParams: [...PGlite.defaultStartParams, '-c', `shared_buffers=${process.env.SB ?? '16MB'}`] });
top('open');
console.log('wasm memory MB', pg.Module?.HEAP8?.buffer?.byteLength/2**20);
await pg.exec('create table if not exists t(a int, b text); insert into t select g, repeat(\'x\', 200) from generate_series(1,100000) g');
top('after insert');
global.gc?.(); await new Promise(r=>setTimeout(r,1000));
top('gc');
