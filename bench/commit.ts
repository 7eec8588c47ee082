/**
 * What a commit costs.
 *
 *   npm run bench:commit                      (builds, then runs dist/bench/commit.js)
 *   node dist/bench/commit.js [--seconds N] [--json]
 *
 * Figures, each measured in a fresh instance directory under os.tmpdir()
 * (removed afterwards), with default instance parameters (8 KiB pages, 1 MiB
 * log files):
 *   a) durable single-page commits/s, 1 writer awaiting each commit;
 *   b) durable commits/s with 16 concurrent writers, and commits per log
 *      fdatasync (group commit shares one sync among everyone queued);
 *   c) lazy commits/s (durable: false), 1 writer, then the time of the final
 *      checkpoint and of close();
 *   d) bulk load: lazy transactions of 64 new pages until 256 MiB of pages,
 *      then close (which writes them all); MiB of pages per second.
 *
 * Every commit rewrites the page body from offset 24 (PAGE_HEADER_SIZE) with
 * a byte that differs from the previous one, so each logs a PAGE record of
 * about one page (a commit that changes nothing logs nothing).
 *
 * Plain timed loops, not tinybench: these are throughput figures over a fixed
 * time, with state (log generations, dirty pages) that builds up across
 * iterations; repeating a tiny task and averaging would hide exactly that.
 * Fsyncs are counted by wrapping the engine's FileSystem (Instance param `io`).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir, cpus } from 'node:os';
import * as path from 'node:path';
import { crc32cImplementation } from '../src/checksum/crc32c.js';
import type { Database } from '../src/engine/database.js';
import { Instance, type InstanceEvent } from '../src/engine/instance.js';
import type { InstanceParams } from '../src/engine/params.js';
import { PAGE_HEADER_SIZE } from '../src/format/page.js';
import { FaultyFileSystem } from '../src/io/fault-injection.js';
import { nodeFileSystem } from '../src/io/file-system.js';

// ---- arguments --------------------------------------------------------------

interface Args {
  seconds: number;
  json: boolean;
}

function usage(): never {
  process.stderr.write('usage: node dist/bench/commit.js [--seconds N] [--json]\n');
  process.exit(2);
}

function parseArgs(argv: string[]): Args {
  const args: Args = { seconds: 3, json: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--json') args.json = true;
    else if (a === '--help' || a === '-h') usage();
    else if (a === '--seconds' || a.startsWith('--seconds=')) {
      const v = a === '--seconds' ? argv[++i] : a.slice('--seconds='.length);
      const n = Number(v);
      if (v === undefined || !Number.isFinite(n) || n <= 0) {
        process.stderr.write(`commit bench: --seconds needs a positive number, got ${String(v)}\n`);
        usage();
      }
      args.seconds = n;
    } else {
      process.stderr.write(`commit bench: unknown argument ${a}\n`);
      usage();
    }
  }
  return args;
}

// ---- counting syncs and writes ------------------------------------------------

type Kind = 'log' | 'db';
const KIND: Record<Kind, (file: string) => boolean> = { log: (f) => f.includes('.log'), db: (f) => f.endsWith('.edb') }; // logs are opened as edbtmp.log.new

/** Syncs and bytes per kind of file, read off the engine's I/O layer (FaultyFileSystem with no faults). */
class Counts {
  constructor(private readonly io: FaultyFileSystem) {}
  get syncs(): Record<Kind, number> {
    return { log: this.io.count('datasync', KIND.log), db: this.io.count('datasync', KIND.db) };
  }
  get bytes(): Record<Kind, number> {
    return { log: this.io.bytesWritten(KIND.log), db: this.io.bytesWritten(KIND.db) };
  }
  reset(): void {
    this.io.resetCounts();
  }
}

// ---- harness ----------------------------------------------------------------

const MiB = 1024 * 1024;

interface Env {
  inst: Instance;
  db: Database;
  counts: Counts;
  rolls: () => number;
  checkpoints: () => number;
}

/** A fresh instance directory holding one database with `pages` pages, removed afterwards. */
async function withInstance<T>(pages: number, fn: (env: Env) => Promise<T>, params: InstanceParams = {}): Promise<T> {
  const dir = await mkdtemp(path.join(tmpdir(), 'esebackup-bench-'));
  const io = new FaultyFileSystem(nodeFileSystem);
  const counts = new Counts(io);
  let inst: Instance | undefined;
  try {
    inst = await Instance.open(dir, { ...params, io });
    let rolls = 0;
    let checkpoints = 0;
    inst.on('event', (e: InstanceEvent) => {
      if (e.type === 'roll') rolls++;
      else if (e.type === 'checkpoint') checkpoints++;
      else if (e.type === 'checkpoint-failed' || e.type === 'fatal') process.stderr.write(`commit bench: ${e.type}: ${String(e.error)}\n`);
    });
    const db = await inst.openDatabase('bench.edb', { create: true });
    const i = inst;
    if (pages > 0) {
      await i.transaction(async (tx) => {
        for (let n = 0; n < pages; n++) (await tx.newPage(db)).page.fill(0x5a, PAGE_HEADER_SIZE);
      });
      await i.checkpoint();
    }
    counts.reset();
    return await fn({ inst: i, db, counts, rolls: () => rolls, checkpoints: () => checkpoints });
  } finally {
    if (inst && inst.state !== 'closed') await inst.close().catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  }
}

/** The byte for the n-th change of a page: 1..250, never equal to the previous one (the first is 1, not the initial 0x5a). */
function fillByte(n: number): number {
  return (n % 250) + 1;
}

interface Throughput {
  commits: number;
  seconds: number;
  commitsPerSecond: number;
  meanLatencyMs: number;
  logSyncs: number;
  commitsPerLogSync: number;
  logMiB: number;
  logGenerationsRolled: number;
}

function throughput(commits: number, ms: number, writers: number, env: Env): Throughput {
  const seconds = ms / 1000;
  return {
    commits,
    seconds: round(seconds, 3),
    commitsPerSecond: round(commits / seconds, 1),
    // Little's law: with W writers always waiting, mean latency = W / throughput.
    meanLatencyMs: round((writers * ms) / Math.max(1, commits), 3),
    logSyncs: env.counts.syncs.log,
    commitsPerLogSync: round(commits / Math.max(1, env.counts.syncs.log), 2),
    logMiB: round(env.counts.bytes.log / MiB, 1),
    logGenerationsRolled: env.rolls(),
  };
}

function round(x: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

// ---- the measurements ---------------------------------------------------------

/** a), b), c): `writers` concurrent loops, each rewriting its own page, for `seconds`; then `after`. */
function commitLoop<R extends object>(
  writers: number, seconds: number, durable: boolean, after: (env: Env) => Promise<R>,
): Promise<Throughput & R> {
  return withInstance(writers, async (env) => {
    const { inst, db } = env;
    let commits = 0;
    const t0 = performance.now();
    const deadline = t0 + seconds * 1000;
    const writer = async (w: number): Promise<void> => {
      const pgno = w + 1;
      for (let n = 0; performance.now() < deadline; n++) {
        await inst.transaction(async (tx) => {
          (await tx.writePage(db, pgno)).fill(fillByte(n), PAGE_HEADER_SIZE);
        }, { durable });
        commits++;
      }
    };
    await Promise.all(Array.from({ length: writers }, (_, w) => writer(w)));
    const t = throughput(commits, performance.now() - t0, writers, env);
    return { ...t, ...(await after(env)) };
  });
}

/** c) the final checkpoint and close after a lazy run. */
async function finalCheckpointAndClose(env: Env): Promise<{ backlogMiBAtEnd: number; finalCheckpointMs: number; closeMs: number }> {
  const backlogMiB = round((env.inst.log?.backlog ?? 0) / MiB, 1);
  let t = performance.now();
  await env.inst.checkpoint();
  const checkpointMs = performance.now() - t;
  t = performance.now();
  await env.inst.close();
  const closeMs = performance.now() - t;
  return { backlogMiBAtEnd: backlogMiB, finalCheckpointMs: round(checkpointMs, 1), closeMs: round(closeMs, 1) };
}

/** d) lazy 64-page transactions of new pages until `totalBytes` of pages, then close. */
function bulkLoad(totalBytes: number, pagesPerTx: number) {
  return withInstance(0, async (env) => {
    const { inst, db } = env;
    const pageSize = db.pageSize;
    const pages = Math.ceil(totalBytes / pageSize);
    const t0 = performance.now();
    for (let done = 0; done < pages; done += pagesPerTx) {
      const n = Math.min(pagesPerTx, pages - done);
      await inst.transaction(async (tx) => {
        for (let i = 0; i < n; i++) {
          const { pgno, page } = await tx.newPage(db);
          page.fill(fillByte(pgno), PAGE_HEADER_SIZE);
        }
      }, { durable: false });
    }
    const loadedMs = performance.now() - t0;
    const t1 = performance.now();
    await inst.close();
    const closeMs = performance.now() - t1;
    const totalMs = performance.now() - t0;
    const mib = (pages * pageSize) / MiB;
    return {
      pages,
      pageSize,
      pagesPerTransaction: pagesPerTx,
      transactions: Math.ceil(pages / pagesPerTx),
      MiB: round(mib, 1),
      commitPhaseMs: round(loadedMs, 1),
      closeMs: round(closeMs, 1),
      totalMs: round(totalMs, 1),
      MiBPerSecond: round(mib / (totalMs / 1000), 1),
      logMiB: round(env.counts.bytes.log / MiB, 1),
      dbMiBWritten: round(env.counts.bytes.db / MiB, 1),
      logSyncs: env.counts.syncs.log,
      dbSyncs: env.counts.syncs.db,
      logGenerationsRolled: env.rolls(),
      checkpoints: env.checkpoints(),
    };
  });
}

// ---- main ---------------------------------------------------------------------

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const say = (line: string): void => { if (!args.json) console.log(line); };
  const impl = crc32cImplementation();
  say(`crc32c implementation: ${impl}`);
  say(`node ${process.version}, ${cpus().length} CPUs, temp dir ${tmpdir()}, ${args.seconds} s per timed figure`);
  say('instance: default params (8 KiB pages, 1 MiB log files, 4096-page cache)');

  const a = await commitLoop(1, args.seconds, true, async () => ({}));
  say(`a) durable, 1 writer:    ${a.commitsPerSecond} commits/s (${a.commits} in ${a.seconds} s, ${a.meanLatencyMs} ms each; ` +
    `${a.commitsPerLogSync} commits per log fdatasync; ${a.logGenerationsRolled} log rolls)`);

  const b = await commitLoop(16, args.seconds, true, async () => ({}));
  say(`b) durable, 16 writers:  ${b.commitsPerSecond} commits/s (${b.commits} in ${b.seconds} s, ${b.meanLatencyMs} ms mean latency; ` +
    `${b.commitsPerLogSync} commits per log fdatasync over ${b.logSyncs} syncs; ${b.logGenerationsRolled} log rolls)`);

  const c = await commitLoop(1, args.seconds, false, finalCheckpointAndClose);
  say(`c) lazy, 1 writer:       ${c.commitsPerSecond} commits/s (${c.commits} in ${c.seconds} s; ${c.logMiB} MiB of log, ${c.logGenerationsRolled} log rolls)`);
  say(`   then final checkpoint ${c.finalCheckpointMs} ms (log backlog ${c.backlogMiBAtEnd} MiB), close ${c.closeMs} ms`);

  const d = await bulkLoad(256 * MiB, 64);
  say(`d) bulk load:            ${d.MiBPerSecond} MiB/s of pages (${d.MiB} MiB = ${d.pages} pages in ${d.transactions} lazy ${d.pagesPerTransaction}-page ` +
    `transactions: ${d.commitPhaseMs} ms committing + ${d.closeMs} ms close = ${d.totalMs} ms)`);
  say(`   wrote ${d.logMiB} MiB of log (${d.logGenerationsRolled} rolls, ${d.logSyncs} log syncs), ${d.dbMiBWritten} MiB to the database (${d.checkpoints} checkpoints, ${d.dbSyncs} db syncs)`);

  if (args.json) {
    console.log(JSON.stringify({
      crc32c: impl, node: process.version, cpus: cpus().length, seconds: args.seconds,
      durableSerial: a, durable16Writers: b, lazySerial: c, bulkLoad: d,
    }, null, 2));
  }
}

main().catch((e) => {
  console.error(`commit bench: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
  process.exit(1);
});
