/**
 * What restore and verify cost.
 *
 *   npm run bench:restore                     (builds, then runs dist/bench/restore.js)
 *   node dist/bench/restore.js [--gib N] [--log-gib M] [--rounds R] [--log-file-mib L] [--change-bytes B] [--json]
 *
 * Fixture (times reported):
 *   1. an instance with one database of N GiB (default 4; fractions work for
 *      smoke runs), made by bench/backup.ts's buildFixture: random-bodied
 *      sealed filler pages written directly, the header's page count raised;
 *   2. a full backup of it (instance.backup) into <tmp>/set;
 *   3. about M GiB of log (default 1) from real commits: lazy transactions of
 *      32 page changes each, every change B random bytes (default 1024) at a
 *      random 4-aligned offset of a random filler page (pages 64 and up: the
 *      table layer's few pages come first); the log is L MiB per generation
 *      (default 8), the same at every open of the instance;
 *   4. an incremental backup (JET_bitBackupIncremental) adds those
 *      generations to the set; the instance is closed cleanly.
 * Measured, each run in a child process (bench/restore-run.ts, peak RSS its own):
 *   - verify(setDir) with 1, 2 and 4 workers: one unmeasured verify first
 *     to bring the set into the page cache, then best of R rounds (default
 *     2); GB/s (1e9) of VerifyReport.bytes = database copies + generations;
 *     target >= 3 GB/s on 2 cores. The wall time includes starting the
 *     worker threads (~0.1-0.2 s); so a fourth figure, 2 workers on a pool
 *     started (and warmed by one verify) beforehand, shows the rest;
 *   - verify(instanceDir) of the closed instance, default workers, the same
 *     way; GB/s of the *.edb and *.log files in it (VerifyReport.bytes of an
 *     instance directory counts the databases only);
 *   - restore(setDir, dest), R rounds, each into a new directory removed
 *     afterwards: total wall time, split into check (the set's verify,
 *     inside restore), copy and replay by an instrumented FileSystem passed
 *     to restore (see bench/restore-run.ts: the status callback alone cannot
 *     show where the copy starts and ends). Copy GB/s = bytes copied
 *     (databases + generations) / copy time; replay MB/s (1e6) = bytes of
 *     the set's generation files / replay time, replay = recovery plus the
 *     clean close that writes out what it redid. The restored instance is
 *     reopened (untimed) to check it needs no recovery.
 * Caveats: restore's copies end with fdatasync, so the copy is disk-bound
 * unless the disk is fast; the replayed pages are in the page cache (just
 * copied). Replay MB/s depends on the record mix: fewer, larger changes per
 * MB (--change-bytes 8000) replay faster per MB than many small ones.
 * Everything under the bench's temp directory is removed at the end, also
 * on failure or Ctrl-C.
 */
import { randomFillSync } from 'node:crypto';
import { mkdir, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { DEFAULT_WORKERS, JET_bitBackupIncremental } from '../src/backup/options.js';
import type { Database } from '../src/engine/database.js';
import { Instance } from '../src/engine/instance.js';
import { PAGE_HEADER_SIZE } from '../src/format/page.js';
import { DB_NAME, buildFixture, type Fixture } from './backup.js';
import {
  GiB, MiB, best, childRunner, environment, gbps, mib, parseFlags, round, row, runMain, sayTable, tempRoot, tmpSpace, usageFor,
} from './bench-common.js';
import type { RestoreRunReport, RunSpec, VerifyRunReport } from './restore-run.js';

const CHANGES_PER_TX = 32;
const FIRST_FILLER = 64;
const runChild = childRunner<RunSpec>(import.meta.url, 'restore-run');

// ---- arguments --------------------------------------------------------------

interface Args { gib: number; logGib: number; rounds: number; logFileMiB: number; changeBytes: number; json: boolean }

const usage = usageFor('restore', '[--gib N] [--log-gib M] [--rounds R] [--log-file-mib L] [--change-bytes B] [--json]');

function parseArgs(argv: string[]): Args {
  const { n, json } = parseFlags(argv, ['gib', 'log-gib', 'rounds', 'log-file-mib', 'change-bytes'], (f) => f !== 'gib' && f !== 'log-gib', usage);
  const logFileMiB = n['log-file-mib'] ?? 8;
  if (logFileMiB > 32) usage('--log-file-mib is at most 32');
  const changeBytes = n['change-bytes'] ?? 1024;
  if (changeBytes % 4 !== 0 || changeBytes > 8192 - PAGE_HEADER_SIZE) usage(`--change-bytes must be a multiple of 4, at most ${8192 - PAGE_HEADER_SIZE}`);
  return { gib: n.gib ?? 4, logGib: n['log-gib'] ?? 1, rounds: n.rounds ?? 2, logFileMiB, changeBytes, json };
}

// ---- helpers ------------------------------------------------------------------

const secs = (ms: number): number => round(ms / 1000, 3);
const mbps = (bytes: number, ms: number): number => round(bytes / 1e6 / (ms / 1000), 1);

/** Bytes of the database and log files in a directory. */
async function instanceBytes(dir: string): Promise<number> {
  let n = 0;
  for (const f of await readdir(dir)) if (/\.(edb|log)$/i.test(f)) n += (await stat(path.join(dir, f))).size;
  return n;
}

// ---- the fixture --------------------------------------------------------------

/** Lazy transactions of CHANGES_PER_TX random changes to filler pages until `target` bytes of log. */
async function makeLog(inst: Instance, db: Database, fx: Fixture, target: number, changeBytes: number) {
  const log = inst.log!;
  const start = log.tip;
  const logFileSize = inst.params.logFileSize;
  const logged = (): number => (log.tip.gen - start.gen) * logFileSize + log.tip.off - start.off;
  const first = Math.min(FIRST_FILLER, fx.pages);
  const slots = (db.pageSize - PAGE_HEADER_SIZE - changeBytes) / 4 + 1;
  let transactions = 0;
  while (logged() < target) {
    await inst.transaction(async (tx) => {
      for (let i = 0; i < CHANGES_PER_TX; i++) {
        const pgno = first + Math.floor(Math.random() * (fx.pages - first + 1));
        const off = PAGE_HEADER_SIZE + 4 * Math.floor(Math.random() * slots);
        randomFillSync(await tx.writePage(db, pgno), off, changeBytes);
      }
    }, { durable: false });
    transactions++;
  }
  return { transactions, changes: transactions * CHANGES_PER_TX, logBytes: logged(), generations: log.tip.gen - start.gen };
}

async function buildSet(root: string, args: Args) {
  const params = { logFileSize: args.logFileMiB * MiB };
  const fx = await buildFixture(root, 'instance', args.gib, params);
  const setDir = path.join(root, 'set');
  await mkdir(setDir);
  const inst = await Instance.open(fx.dir, params);
  try {
    inst.on('event', (e) => {
      if (e.type === 'checkpoint-failed' || e.type === 'fatal') process.stderr.write(`restore bench: ${e.type}: ${String(e.error)}\n`);
    });
    const db = await inst.openDatabase(DB_NAME);
    let t = performance.now();
    const full = await inst.backup(setDir);
    const fullMs = performance.now() - t;
    t = performance.now();
    const log = await makeLog(inst, db, fx, args.logGib * GiB, args.changeBytes);
    const logMs = performance.now() - t;
    t = performance.now();
    const inc = await inst.backup(setDir, JET_bitBackupIncremental);
    const incMs = performance.now() - t;
    t = performance.now();
    await inst.close();
    const closeMs = performance.now() - t;
    const logs = [...full.logs, ...inc.logs];
    return {
      fx, setDir, params, full: { ms: round(fullMs, 1), bytes: full.bytes, generations: full.generations },
      log: { ...log, ms: round(logMs, 1) }, inc: { ms: round(incMs, 1), bytes: inc.bytes, generations: inc.generations }, closeMs: round(closeMs, 1),
      set: { dbBytes: full.databases.reduce((n, d) => n + d.bytes, 0), logBytes: logs.reduce((n, l) => n + l.bytes, 0), generations: logs.length },
    };
  } finally {
    if (inst.state !== 'closed') await inst.close().catch(() => undefined);
  }
}

// ---- measured runs ------------------------------------------------------------

async function verifyOnce(dir: string, o: { workers?: number; warmPool?: boolean } = {}): Promise<VerifyRunReport> {
  const r = await runChild<VerifyRunReport>({ mode: 'verify', dir, ...o });
  if (!r.ok) process.stderr.write(`restore bench: warning: verify of ${dir} found ${r.problems} problem(s), first: ${r.firstProblem}\n`);
  return r;
}

async function restoreOnce(root: string, setDir: string, logFileSize: number, i: number): Promise<RestoreRunReport> {
  const dest = path.join(root, `restored-${i}`);
  try {
    const r = await runChild<RestoreRunReport>({ mode: 'restore', setDir, dest, logFileSize });
    if (!r.reopenedClean) process.stderr.write(`restore bench: warning: the restored instance ${dest} needed recovery when reopened\n`);
    return r;
  } finally {
    await rm(dest, { recursive: true, force: true });
  }
}

function splitRestore(r: RestoreRunReport, logBytes: number) {
  const checkMs = r.copyStartMs;
  const copyMs = r.copyEndMs - r.copyStartMs;
  const replayMs = r.ms - r.copyEndMs;
  const lastCopyEvent = Math.max(0, ...r.status.filter((s) => s.phase === 'pages').map((s) => s.ms));
  return {
    totalMs: r.ms, checkMs, copyMs: round(copyMs, 1), replayMs: round(replayMs, 1),
    copyGbPerSec: gbps(r.bytes, copyMs), replayMbPerSec: mbps(logBytes, replayMs), lastCopyStatusMs: lastCopyEvent,
    statusConsistent: lastCopyEvent <= r.copyEndMs,
  };
}

// ---- main -----------------------------------------------------------------------

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const say = (line: string): void => { if (!args.json) console.log(line); };
  const { fsType, free } = await tmpSpace();
  const need = (3 * (args.gib + args.logGib) + 0.5) * GiB; // instance + its logs, the set, one restored copy
  if (free < need) {
    throw new Error(`${tmpdir()} has ${mib(free)} MiB free; this run needs about ${mib(need)} MiB`);
  }
  const env = environment(fsType, say);
  say(`temp dir ${env.tmpdir} (${fsType}); ${args.gib} GiB database, ${args.logGib} GiB of log in ${args.logFileMiB} MiB generations ` +
    `(${CHANGES_PER_TX} x ${args.changeBytes}-byte changes per transaction), ${args.rounds} round(s)`);

  const root = await tempRoot('esebackup-bench-restore-');
  try {
    say('building the fixture: database, full backup, log, incremental backup...');
    const s = await buildSet(root, args);
    const { fx, setDir } = s;
    const setBytes = s.set.dbBytes + s.set.logBytes;
    row('fixture: database', `${round(fx.bytes / GiB, 3)} GiB, ${fx.pages} pages, ${secs(fx.buildMs)} s (${gbps(fx.bytes, fx.buildMs)} GB/s)`);
    row('fixture: full backup', `${secs(s.full.ms)} s (${gbps(s.full.bytes, s.full.ms)} GB/s), generations ${s.full.generations?.low}..${s.full.generations?.high}`);
    row('fixture: log by lazy commits', `${mib(s.log.logBytes)} MiB, ${s.log.generations} generations, ${s.log.transactions} transactions, ` +
      `${s.log.changes} page changes in ${secs(s.log.ms)} s (${mbps(s.log.logBytes, s.log.ms)} MB/s)`);
    row('fixture: incremental backup', `${secs(s.inc.ms)} s, ${mib(s.inc.bytes)} MiB, generations ${s.inc.generations?.low}..${s.inc.generations?.high}; close ${secs(s.closeMs)} s`);
    row('backup set', `${round(setBytes / GiB, 3)} GiB: databases ${mib(s.set.dbBytes)} MiB + ${s.set.generations} generations ${mib(s.set.logBytes)} MiB`);

    // Verify of the set, warm, then 1, 2, 4 workers round after round.
    say('verify of the set: warming the page cache...');
    await verifyOnce(setDir);
    const configs = [{ workers: 1 }, { workers: 2 }, { workers: 4 }, { workers: 2, warmPool: true }];
    const vruns: VerifyRunReport[][] = configs.map(() => []);
    for (let i = 1; i <= args.rounds; i++) {
      for (const [k, c] of configs.entries()) {
        say(`round ${i}/${args.rounds}: verify of the set, ${c.workers} worker(s)${c.warmPool ? ', pool started beforehand' : ''}...`);
        vruns[k]!.push(await verifyOnce(setDir, c));
      }
    }
    const verifySet = configs.map((c, k) => {
      const runs = vruns[k]!;
      const ms = best(runs.map((r) => r.ms));
      return { ...c, runs, bestMs: ms, bytes: runs[0]!.bytes, gbPerSec: gbps(runs[0]!.bytes, ms), ok: runs.every((r) => r.ok),
        peakRssMiB: mib(Math.max(...runs.map((r) => r.maxRssBytes))) };
    });
    for (const v of verifySet) {
      row(`verify set, ${v.workers} worker(s)${v.warmPool ? ', warm pool' : ''}`, `best ${secs(v.bestMs)} s, ${v.gbPerSec} GB/s of ${round(v.bytes / GiB, 3)} GiB; ` +
        `peak RSS ${v.peakRssMiB} MiB${v.ok ? '' : '; PROBLEMS FOUND'}`, v.warmPool ? '' : '>= 3 GB/s', v.warmPool ? undefined : v.gbPerSec >= 3 && v.ok);
    }

    // Verify of the closed instance directory.
    const instBytes = await instanceBytes(fx.dir);
    say('verify of the instance directory: warming, then measuring...');
    await verifyOnce(fx.dir);
    const iruns: VerifyRunReport[] = [];
    for (let i = 1; i <= args.rounds; i++) iruns.push(await verifyOnce(fx.dir));
    const ims = best(iruns.map((r) => r.ms));
    const verifyInstance = { workers: DEFAULT_WORKERS, runs: iruns, bestMs: ims, bytes: instBytes, gbPerSec: gbps(instBytes, ims), ok: iruns.every((r) => r.ok) };
    row(`verify instance dir, ${DEFAULT_WORKERS} workers`, `best ${secs(ims)} s, ${verifyInstance.gbPerSec} GB/s of ${round(instBytes / GiB, 3)} GiB ` +
      `(${iruns[0]!.generations ? `generations ${iruns[0]!.generations.low}..${iruns[0]!.generations.high}` : 'no logs'})${verifyInstance.ok ? '' : '; PROBLEMS FOUND'}`);

    // Restores.
    const rruns: RestoreRunReport[] = [];
    for (let i = 1; i <= args.rounds; i++) {
      say(`round ${i}/${args.rounds}: restore...`);
      rruns.push(await restoreOnce(root, setDir, s.params.logFileSize, i));
    }
    const splits = rruns.map((r) => splitRestore(r, s.set.logBytes));
    const bi = rruns.reduce((b, r, i) => (r.ms < rruns[b]!.ms ? i : b), 0);
    const r = rruns[bi]!;
    const sp = splits[bi]!;
    const rec = r.recovery;
    row('restore, total', `best ${secs(r.ms)} s of ${rruns.length} (all: ${rruns.map((x) => secs(x.ms)).join(', ')} s); peak RSS ${mib(Math.max(...rruns.map((x) => x.maxRssBytes)))} MiB`);
    row('  check (verify of the set)', `${secs(sp.checkMs)} s (${gbps(setBytes, sp.checkMs)} GB/s)`);
    row('  copy', `${secs(sp.copyMs)} s, ${sp.copyGbPerSec} GB/s of ${round(r.bytes / GiB, 3)} GiB (copy speeds: ${splits.map((x) => x.copyGbPerSec).join(', ')} GB/s)`);
    row('  replay (recovery + close)', `${secs(sp.replayMs)} s, ${sp.replayMbPerSec} MB/s of ${mib(s.set.logBytes)} MiB of log (replay speeds: ${splits.map((x) => x.replayMbPerSec).join(', ')} MB/s); ` +
      (rec ? `${rec.generations} generations, ${rec.transactionsRedone} transactions redone, ${rec.pagesApplied} page changes applied, ${rec.pagesSkipped} skipped` : 'no recovery stats'));
    if (!splits.every((x) => x.statusConsistent)) say('warning: a copy status event came after the checkpoint was written (see the JSON)');
    if (!rruns.every((x) => x.reopenedClean)) say('warning: a restored instance needed recovery when reopened');

    const loadavgEnd = sayTable(say);
    if (args.json) {
      console.log(JSON.stringify({
        env: { ...env, loadavgEnd }, args,
        fixture: { database: { pages: fx.pages, bytes: fx.bytes, buildMs: round(fx.buildMs, 1) }, full: s.full, log: s.log, incremental: s.inc, closeMs: s.closeMs, set: s.set },
        verifySet, verifyInstance, restores: rruns.map((x, i) => ({ ...x, split: splits[i] })),
      }, null, 2));
    }
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}

runMain('restore', main);
