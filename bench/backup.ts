/**
 * What a full backup costs, against cp.
 *
 *   npm run bench:backup                      (builds, then runs dist/bench/backup.js)
 *   node dist/bench/backup.js [--gib N] [--rounds R] [--seconds S] [--rss-gib M] [--json]
 *
 * Fixture: an instance directory under os.tmpdir() holding one database,
 * bench.edb, of N GiB (default 4; fractions such as 0.25 work for smoke runs).
 * The instance and the database are made through the engine (one put creates
 * the catalog and the table the commit figure writes to), then the file is
 * extended directly with sealed pages in large sequential writes and its
 * header's page count raised (it stays clean), so every run reopens a valid
 * database through the engine. The filler pages' bodies are random bytes:
 * they cannot be compressed (nor deduplicated) by the file system or the
 * disk. They belong to no tree: the backup verifies them, checkTables would
 * call them leaked. Everything under the bench's temp directory is removed at
 * the end, also on failure or Ctrl-C.
 *
 * Each backup runs in a child process (bench/backup-run.ts) so its peak RSS
 * is its own. Figures:
 *   1. the fixture build (size, pages, MB/s);
 *   2. baseline: `cp <db file> <dir>/ && sync`, timed, before every backup
 *      run (cp, backup, cp, backup, ...) so both see the same page cache;
 *      best and median over all of them;
 *   3. full backups with 1, 2 and 4 workers (default range size): best and
 *      median wall time of instance.backup() over R rounds (default 2), GB/s
 *      of database bytes (GB = 1e9), ratio to cp (target <= 0.8), peak RSS;
 *      and the peak RSS of a default backup of an M GiB fixture (default 1,
 *      or N / 4 when N <= 1) against N GiB (target: flat, under 150 MiB);
 *   4. range size 64, 256 and 1024 pages at 2 workers (to choose the default);
 *   5. durable single-row db.put commits/s, one writer, S seconds (default 3)
 *      without a backup, then while full backups run (back to back until S
 *      seconds have passed): the share retained (target >= 70%);
 *   6. a backup limited to a third of the unthrottled speed (best default
 *      run): achieved bytes/s (BackupResult.bytes / durationMs) against the
 *      limit (target within 10%).
 *
 * Caveats: `sync` flushes the whole machine, so other writers slow the
 * baseline; a file system that clones on copy (btrfs, XFS: GNU cp >= 9
 * reflinks by default) makes cp nearly free, and tmpfs makes sync free; the
 * bench prints the file system type. The source file is in the page cache
 * unless it is larger than free memory; both sides are treated alike.
 */
import { randomFillSync } from 'node:crypto';
import { realpathSync } from 'node:fs';
import { mkdir, mkdtemp, open, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { DEFAULT_WORKERS } from '../src/backup/options.js';
import { DEFAULT_RANGE_PAGES } from '../src/backup/plan.js';
import { DatabaseFile } from '../src/engine/database-file.js';
import { Instance } from '../src/engine/instance.js';
import type { InstanceParams } from '../src/engine/params.js';
import { DB_STATE_CLEAN_SHUTDOWN } from '../src/format/db-header.js';
import { pageOffset, sealPage, writePageHeader } from '../src/format/page.js';
import { nodeFileSystem } from '../src/io/file-system.js';
import type { BackupRunReport, BackupRunSpec, CommitRunReport, CommitRunSpec, RunSpec } from './backup-run.js';
import {
  GiB, best, childRunner, environment, gbps, median, mib, parseFlags, round, row, run, runMain, sayTable, tempRoot, tmpSpace, usageFor,
} from './bench-common.js';

export const DB_NAME = 'bench.edb';
const TABLE = 'bench';
const here = import.meta.url;
const runChild = childRunner<RunSpec>(here, 'backup-run');

// ---- arguments --------------------------------------------------------------

interface Args { gib: number; rounds: number; seconds: number; rssGib: number; json: boolean }

const usage = usageFor('backup', '[--gib N] [--rounds R] [--seconds S] [--rss-gib M] [--json]');

function parseArgs(argv: string[]): Args {
  const { n, json } = parseFlags(argv, ['gib', 'rounds', 'seconds', 'rss-gib'], (f) => f === 'rounds', usage);
  const gib = n.gib ?? 4;
  return { gib, rounds: n.rounds ?? 2, seconds: n.seconds ?? 3, rssGib: n['rss-gib'] ?? (gib > 1 ? 1 : gib / 4), json };
}

// ---- the fixture --------------------------------------------------------------

export interface Fixture { dir: string; file: string; pages: number; bytes: number; buildMs: number }

const CHUNK_PAGES = 1024; // 8 MiB per write at 8 KiB pages

async function writeAll(fh: Awaited<ReturnType<typeof open>>, buf: Buffer, pos: number): Promise<void> {
  for (let done = 0; done < buf.length;) done += (await fh.write(buf, done, buf.length - done, pos + done)).bytesWritten;
}

/** Pages first..last, random bodies, sealed, in CHUNK_PAGES writes; one buffer fills while the other is written. */
async function writeFillerPages(file: string, pageSize: number, first: number, last: number, dbtime: number): Promise<void> {
  const fh = await open(file, 'r+');
  try {
    const bufs = [Buffer.allocUnsafe(CHUNK_PAGES * pageSize), Buffer.allocUnsafe(CHUNK_PAGES * pageSize)];
    let pending: Promise<void> = Promise.resolve();
    for (let p = first, i = 0; p <= last; p += CHUNK_PAGES, i ^= 1) {
      const n = Math.min(CHUNK_PAGES, last - p + 1);
      const buf = bufs[i]!.subarray(0, n * pageSize);
      randomFillSync(buf);
      for (let k = 0; k < n; k++) {
        const page = buf.subarray(k * pageSize, (k + 1) * pageSize);
        writePageHeader(page, { pgno: p + k, dbtime, flags: 0, objid: 0 });
        sealPage(page);
      }
      await pending; // the previous chunk, in the other buffer
      pending = writeAll(fh, buf, pageOffset(p, pageSize));
    }
    await pending;
    await fh.truncate(pageOffset(last + 1, pageSize)); // drop any unused extent past the last page
    await fh.datasync();
  } finally {
    await fh.close();
  }
}

/** `params`: the instance's parameters (a logFileSize must be the same at every open). */
export async function buildFixture(root: string, name: string, gib: number, params: InstanceParams = {}): Promise<Fixture> {
  const t0 = performance.now();
  const dir = path.join(root, name);
  await mkdir(dir);
  const inst = await Instance.open(dir, params);
  try {
    const db = await inst.openDatabase(DB_NAME, { create: true });
    await db.put(TABLE, 'seed', 'x'); // meta page, catalog and the table's root: the table layer's pages come first
  } finally {
    await inst.close();
  }
  const file = path.join(dir, DB_NAME);
  const f = await DatabaseFile.open(nodeFileSystem, file);
  let pages: number;
  try {
    const h = f.header;
    if (h.state !== DB_STATE_CLEAN_SHUTDOWN) throw new Error(`fixture ${file}: state ${h.state} after close, expected clean`);
    pages = Math.max(h.pageCount + 1, Math.floor((gib * GiB) / h.pageSize) - 2); // file = header pages + data pages = N GiB
    await writeFillerPages(file, h.pageSize, h.pageCount + 1, pages, h.dbtime);
    await f.writeHeader({ ...h, pageCount: pages });
  } finally {
    await f.close();
  }
  const bytes = pageOffset(pages + 1, f.pageSize);
  return { dir, file, pages, bytes, buildMs: performance.now() - t0 };
}

// ---- measured runs ------------------------------------------------------------

async function timeCp(root: string, fx: Fixture): Promise<number> {
  const dir = await mkdtemp(path.join(root, 'cp-'));
  try {
    const t0 = performance.now();
    await run('sh', ['-c', 'cp -- "$1" "$2"/ && sync', 'sh', fx.file, dir]);
    return performance.now() - t0;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function backupOnce(root: string, fx: Fixture, o: { workers?: number; rangePages?: number; rateBytesPerSec?: number }): Promise<BackupRunReport> {
  const dest = await mkdtemp(path.join(root, 'backup-'));
  try {
    const spec: BackupRunSpec = { mode: 'backup', instanceDir: fx.dir, dbName: DB_NAME, dest, ...o };
    const r = await runChild<BackupRunReport>(spec);
    if (r.pagesReread > 0 || r.pagesVerified < fx.pages) {
      process.stderr.write(`backup bench: warning: ${r.pagesVerified} pages verified (fixture has ${fx.pages}), ${r.pagesReread} re-read\n`);
    }
    return r;
  } finally {
    await rm(dest, { recursive: true, force: true });
  }
}

interface Config { key: string; label: string; workers: number; rangePages: number }

const CONFIGS: Config[] = [
  { key: 'w1', label: 'full backup, 1 worker', workers: 1, rangePages: DEFAULT_RANGE_PAGES },
  { key: 'w2', label: 'full backup, 2 workers', workers: 2, rangePages: DEFAULT_RANGE_PAGES },
  { key: 'w4', label: 'full backup, 4 workers', workers: 4, rangePages: DEFAULT_RANGE_PAGES },
  // The other two of the range sweep (64, 256, 1024), whichever is not the default.
  ...[64, 256, 1024].filter((p) => p !== DEFAULT_RANGE_PAGES)
    .map((p) => ({ key: `r${p}`, label: `range ${p} pages, 2 workers`, workers: 2, rangePages: p })),
];
const DEFAULT_KEY = CONFIGS.find((c) => c.workers === DEFAULT_WORKERS && c.rangePages === DEFAULT_RANGE_PAGES)!.key;

function summarize(c: Config, runs: BackupRunReport[], cpMs: number[], fx: Fixture) {
  const ms = runs.map((r) => r.ms);
  return {
    ...c, runs,
    bestMs: round(best(ms), 1), medianMs: round(median(ms), 1),
    gbPerSecBest: gbps(fx.bytes, best(ms)), gbPerSecMedian: gbps(fx.bytes, median(ms)),
    ratioBest: round(best(ms) / best(cpMs), 3), ratioMedian: round(median(ms) / median(cpMs), 3),
    peakRssMiB: mib(Math.max(...runs.map((r) => r.maxRssBytes))),
    rssBeforeMiB: mib(Math.max(...runs.map((r) => r.rssBeforeBytes))),
  };
}

// ---- main -----------------------------------------------------------------------

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const say = (line: string): void => { if (!args.json) console.log(line); };
  const { fsType, free } = await tmpSpace();
  const need = (3 * args.gib + 2 * args.rssGib + 0.5) * GiB; // fixtures, a copy at a time, a second copy while committing
  if (free < need) {
    throw new Error(`${tmpdir()} has ${mib(free)} MiB free; a ${args.gib} GiB run needs about ${mib(need)} MiB`);
  }
  const env = environment(fsType, say);
  say(`temp dir ${env.tmpdir} (${fsType}); ${args.gib} GiB database, ${args.rounds} round(s), ${args.seconds} s per commit figure`);
  if (fsType === 'xfs' || fsType === 'btrfs' || fsType === 'tmpfs') say(`warning: on ${fsType} cp + sync is not a fair baseline (see the header comment)`);

  const root = await tempRoot('esebackup-bench-backup-');
  try {
    say('building the fixture...');
    const fx = await buildFixture(root, 'main', args.gib);
    row('fixture', `${round(fx.bytes / GiB, 3)} GiB, ${fx.pages} pages, built in ${round(fx.buildMs / 1000, 1)} s (${gbps(fx.bytes, fx.buildMs)} GB/s)`);

    // 2-4: cp and backups alternating, round after round.
    const cpMs: number[] = [];
    const runs = new Map<string, BackupRunReport[]>(CONFIGS.map((c) => [c.key, []]));
    for (let round_ = 1; round_ <= args.rounds; round_++) {
      for (const c of CONFIGS) {
        say(`round ${round_}/${args.rounds}: cp, then ${c.label}...`);
        cpMs.push(await timeCp(root, fx));
        runs.get(c.key)!.push(await backupOnce(root, fx, { workers: c.workers, rangePages: c.rangePages }));
      }
    }
    const cp = { runsMs: cpMs.map((x) => round(x, 1)), bestMs: round(best(cpMs), 1), medianMs: round(median(cpMs), 1), gbPerSecBest: gbps(fx.bytes, best(cpMs)) };
    row('cp + sync (baseline)', `best ${round(cp.bestMs / 1000, 3)} s, median ${round(cp.medianMs / 1000, 3)} s (${cp.gbPerSecBest} GB/s best, ${cpMs.length} runs)`);
    const configs = CONFIGS.map((c) => summarize(c, runs.get(c.key)!, cpMs, fx));
    for (const s of configs) {
      row(s.label, `best ${round(s.bestMs / 1000, 3)} s, median ${round(s.medianMs / 1000, 3)} s, ${s.gbPerSecBest} GB/s; ` +
        `/cp ${s.ratioBest} best, ${s.ratioMedian} median; peak RSS ${s.peakRssMiB} MiB`, 'ratio <= 0.8', s.ratioMedian <= 0.8);
    }
    const dflt = configs.find((s) => s.key === DEFAULT_KEY)!;

    // 3: peak RSS, small fixture against the big one (same default options).
    let rss;
    if (args.rssGib !== args.gib) {
      say(`building a ${args.rssGib} GiB fixture for the RSS comparison...`);
      const small = await buildFixture(root, 'small', args.rssGib);
      const r = await backupOnce(root, small, {});
      await rm(small.dir, { recursive: true, force: true });
      rss = { smallGib: args.rssGib, smallPeakMiB: mib(r.maxRssBytes), largeGib: args.gib, largePeakMiB: dflt.peakRssMiB };
      const flat = Math.abs(rss.largePeakMiB - rss.smallPeakMiB) <= Math.max(16, 0.1 * rss.smallPeakMiB);
      row('peak RSS, default backup', `${rss.smallPeakMiB} MiB at ${rss.smallGib} GiB, ${rss.largePeakMiB} MiB at ${rss.largeGib} GiB ` +
        `(RSS before the backup ${dflt.rssBeforeMiB} MiB)`, 'flat (±16 MiB), < 150', flat && rss.largePeakMiB < 150);
    }

    // 4: the range sweep, read off the runs above.
    const sweep = [64, 256, 1024].map((p) => configs.find((s) => s.workers === 2 && s.rangePages === p)!);
    row('range sweep at 2 workers', sweep.map((s) => `${s.rangePages}: ${s.gbPerSecMedian} GB/s`).join(', ') + ' (median)');

    // 6: the rate limit (before the commit figure, which grows the fixture).
    const unthrottled = best(dflt.runs.map((r) => r.bytes / (r.durationMs / 1000)));
    const limit = Math.max(1, Math.round(unthrottled / 3));
    say(`rate-limited backup at ${round(limit / 1e6, 1)} MB/s...`);
    const limited = await backupOnce(root, fx, { rateBytesPerSec: limit });
    const achieved = limited.bytes / (limited.durationMs / 1000);
    const rate = { unthrottled: Math.round(unthrottled), limit, achieved: Math.round(achieved), deviationPct: round((achieved / limit - 1) * 100, 1), run: limited };
    row('rate limit (1/3 of unthrottled)', `${round(achieved / 1e6, 1)} MB/s against ${round(limit / 1e6, 1)} MB/s (${rate.deviationPct >= 0 ? '+' : ''}${rate.deviationPct}%)`,
      'within 10%', Math.abs(rate.deviationPct) <= 10);

    // 5: commits without and during backups.
    say(`durable commits, ${args.seconds} s without a backup, then during backups...`);
    const destRoot = await mkdtemp(path.join(root, 'commit-backups-'));
    const spec: CommitRunSpec = { mode: 'commits', instanceDir: fx.dir, dbName: DB_NAME, table: TABLE, destRoot, seconds: args.seconds };
    const commits = await runChild<CommitRunReport>(spec);
    await rm(destRoot, { recursive: true, force: true });
    const retainedPct = round((commits.during.commitsPerSecond / commits.without.commitsPerSecond) * 100, 1);
    const w = commits.without;
    const d = commits.during;
    row('durable commits, no backup', `${w.commitsPerSecond}/s (p50 ${w.p50Ms} ms, p99 ${w.p99Ms} ms, max ${w.maxMs} ms)`);
    row('durable commits, during backup', `${d.commitsPerSecond}/s (p50 ${d.p50Ms} ms, p99 ${d.p99Ms} ms, max ${d.maxMs} ms) over ` +
      `${d.seconds} s, ${commits.backups.length} backup(s): ${retainedPct}% retained`, '>= 70%', retainedPct >= 70);

    const loadavgEnd = sayTable(say);
    if (args.json) {
      console.log(JSON.stringify({
        env: { ...env, loadavgEnd }, args, fixture: { pages: fx.pages, bytes: fx.bytes, buildMs: round(fx.buildMs, 1) },
        cp, backups: configs, defaultConfig: DEFAULT_KEY, rss: rss ?? null, rangeSweep: sweep.map((s) => ({ rangePages: s.rangePages, gbPerSecMedian: s.gbPerSecMedian })),
        rateLimit: rate, commits: { ...commits, retainedPct },
      }, null, 2));
    }
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}

// Only when run, not when bench/restore.ts imports the fixture builder.
if (process.argv[1] !== undefined && realpathSync(process.argv[1]) === fileURLToPath(here)) {
  runMain('backup', main);
}
