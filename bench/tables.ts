/**
 * What the table layer costs.
 *
 *   npm run bench:tables                         (builds, then runs dist/bench/tables.js)
 *   node dist/bench/tables.js [--mib N] [--seconds S] [--json]
 *
 * In a fresh instance directory under os.tmpdir() (removed afterwards):
 *   a) bulk load: N MiB (default 1024) of 100-byte values under 16-byte keys,
 *      1000 puts per lazy transaction, then close: MB/s of key+value bytes;
 *   b) durable single-put commits/s (one writer awaiting each put) for S seconds;
 *   c) random gets/s over the loaded keys for S seconds (cache: default 4096
 *      pages, so most of a large database is read from the OS page cache);
 *   d) space amplification: database file size / key+value bytes loaded.
 */
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
import * as path from 'node:path';
import { crc32cImplementation } from '../src/checksum/crc32c.js';
import { Instance } from '../src/engine/instance.js';

const MiB = 1024 * 1024;
const KEY = 16;
const VALUE = 100;

function parseArgs(argv: string[]): { mib: number; seconds: number; json: boolean } {
  const args = { mib: 1024, seconds: 3, json: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--json') args.json = true;
    else if (a === '--mib' || a === '--seconds') {
      const n = Number(argv[++i]);
      if (!Number.isFinite(n) || n <= 0) usage(`${a} needs a positive number`);
      args[a === '--mib' ? 'mib' : 'seconds'] = n;
    } else usage(`unknown argument ${a}`);
  }
  return args;
}

function usage(why: string): never {
  process.stderr.write(`tables bench: ${why}\nusage: node dist/bench/tables.js [--mib N] [--seconds S] [--json]\n`);
  process.exit(2);
}

function keyOf(i: number): Buffer {
  const k = Buffer.alloc(KEY);
  k.write(i.toString(16).padStart(KEY, '0'));
  return k;
}

const round = (x: number, d = 1) => Math.round(x * 10 ** d) / 10 ** d;

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const say = (s: string) => { if (!args.json) console.log(s); };
  const dir = await mkdtemp(path.join(tmpdir(), 'esebackup-bench-tables-'));
  try {
    say(`crc32c implementation: ${crc32cImplementation()}`);
    say(`node ${process.version}, ${cpus().length} CPUs; ${args.mib} MiB of ${KEY}-byte keys + ${VALUE}-byte values; 8 KiB pages`);
    const records = Math.floor((args.mib * MiB) / (KEY + VALUE));
    const value = Buffer.alloc(VALUE, 0x61);

    // a) bulk load
    let inst = await Instance.open(dir);
    let db = await inst.openDatabase('bench.edb', { create: true });
    let t = performance.now();
    for (let i = 0; i < records;) {
      const end = Math.min(records, i + 1000);
      await db.transaction(async (tx) => {
        // Shuffle-free ascending keys, the common bulk-load shape.
        for (; i < end; i++) await tx.put('t', keyOf(i), value);
      }, { durable: false });
    }
    await inst.close();
    const loadS = (performance.now() - t) / 1000;
    const loadMBs = (records * (KEY + VALUE)) / 1e6 / loadS;
    say(`a) bulk load:      ${round(loadMBs)} MB/s (${records} records, ${round(records * (KEY + VALUE) / MiB)} MiB in ${round(loadS, 2)} s, lazy, 1000 puts per transaction, incl. close)`);

    inst = await Instance.open(dir);
    db = await inst.openDatabase('bench.edb');

    // b) durable single puts
    let n = 0;
    t = performance.now();
    const until = t + args.seconds * 1000;
    while (performance.now() < until) await db.put('d', keyOf(n++), value);
    const putsPerS = n / ((performance.now() - t) / 1000);
    say(`b) durable puts:   ${round(putsPerS)} commits/s (1 writer, ${n} puts)`);

    // c) random gets
    let seed = 42;
    const rand = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    n = 0;
    let missing = 0;
    t = performance.now();
    const until2 = t + args.seconds * 1000;
    while (performance.now() < until2) {
      for (let j = 0; j < 100; j++, n++) if (!(await db.get('t', keyOf(Math.floor(rand() * records))))) missing++;
    }
    const getsPerS = n / ((performance.now() - t) / 1000);
    if (missing > 0) throw new Error(`${missing} loaded keys were not found`);
    say(`c) random gets:    ${round(getsPerS)} gets/s (${n} gets, cache ${inst.params.cacheSizePages} pages)`);

    // d) space amplification
    const report = await db.checkTables();
    if (report.problems.length > 0) throw new Error(`checkTables: ${report.problems.join('; ')}`);
    await inst.close();
    const fileBytes = (await stat(path.join(dir, 'bench.edb'))).size;
    const amp = fileBytes / (records * (KEY + VALUE));
    say(`d) space:          ${round(amp, 2)}x (file ${round(fileBytes / MiB)} MiB for ${round(records * (KEY + VALUE) / MiB)} MiB of keys+values; tree depth ${report.tables.find((x) => x.name === 't')?.depth})`);
    if (args.json) {
      console.log(JSON.stringify({ crc32c: crc32cImplementation(), records, bulkLoadMBs: round(loadMBs), durablePutsPerS: round(putsPerS), randomGetsPerS: round(getsPerS), spaceAmplification: round(amp, 2) }));
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(`tables bench: ${e instanceof Error ? e.message : String(e)}`);
  process.exit(1);
});
