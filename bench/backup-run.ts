/**
 * One measured run of bench/backup.ts, in a process of its own so that the
 * run's peak RSS (process.resourceUsage().maxRSS, which covers the backup's
 * worker threads too) belongs to that run alone. Not meant to be run by hand.
 *
 *   node dist/bench/backup-run.js '<RunSpec as JSON>'
 *
 * Opens the instance in spec.instanceDir (a clean fixture made by backup.ts),
 * attaches the database, does what the mode says, closes the instance cleanly
 * (so the fixture is clean again for the next run) and prints one line of
 * JSON (BackupRunReport or CommitRunReport) on stdout. Diagnostics go to stderr.
 *
 * Modes:
 *   backup   one full backup into spec.dest (an existing empty directory),
 *            with the given workers / rangePages / rateBytesPerSec;
 *   commits  durable single-row db.put commits, one writer awaiting each, for
 *            spec.seconds without a backup; then again while full backups run
 *            back to back into new directories under spec.destRoot (one, or
 *            more if the first ends before spec.seconds: the window is from
 *            the start of the first backup to the end of the last).
 */
import { mkdir } from 'node:fs/promises';
import * as path from 'node:path';
import type { BackupOptions, BackupResult } from '../src/backup/options.js';
import type { Database } from '../src/engine/database.js';
import { Instance } from '../src/engine/instance.js';

export interface BackupRunSpec {
  mode: 'backup';
  instanceDir: string;
  dbName: string;
  dest: string;
  workers?: number;
  rangePages?: number;
  rateBytesPerSec?: number;
}

export interface CommitRunSpec {
  mode: 'commits';
  instanceDir: string;
  dbName: string;
  table: string;
  destRoot: string;
  seconds: number;
}

export type RunSpec = BackupRunSpec | CommitRunSpec;

export interface BackupRunReport {
  /** Wall time of the inst.backup() call, as seen by the caller. */
  ms: number;
  /** BackupResult.durationMs (the same span, measured inside). */
  durationMs: number;
  /** Bytes of the database copies (header pages included) and of everything copied (plus logs). */
  dbBytes: number;
  bytes: number;
  pagesVerified: number;
  pagesUninitialized: number;
  pagesReread: number;
  logs: number;
  /** RSS once the instance is open, before the backup starts, and the process's peak. */
  rssBeforeBytes: number;
  maxRssBytes: number;
}

export interface CommitPhase {
  commits: number;
  seconds: number;
  commitsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

export interface CommitRunReport {
  without: CommitPhase;
  during: CommitPhase;
  backups: { ms: number; bytes: number }[];
  maxRssBytes: number;
}

function round(x: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

function quantile(sorted: number[], q: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

function maxRssBytes(): number {
  return process.resourceUsage().maxRSS * 1024; // maxRSS is in KiB
}

async function runBackup(inst: Instance, spec: BackupRunSpec): Promise<BackupRunReport> {
  const options: BackupOptions = {};
  if (spec.workers !== undefined) options.workers = spec.workers;
  if (spec.rangePages !== undefined) options.rangePages = spec.rangePages;
  if (spec.rateBytesPerSec !== undefined) options.rateBytesPerSec = spec.rateBytesPerSec;
  const rssBeforeBytes = process.memoryUsage().rss;
  const t0 = performance.now();
  const r: BackupResult = await inst.backup(spec.dest, 0, undefined, options);
  const ms = performance.now() - t0;
  return {
    ms: round(ms, 1), durationMs: round(r.durationMs, 1),
    dbBytes: r.databases.reduce((n, d) => n + d.bytes, 0), bytes: r.bytes,
    pagesVerified: r.pagesVerified, pagesUninitialized: r.pagesUninitialized, pagesReread: r.pagesReread,
    logs: r.logs.length, rssBeforeBytes, maxRssBytes: 0,
  };
}

/** The writer: durable puts of new ascending keys until `until()` says stop; per-commit latencies. */
class Writer {
  private n = 0;
  private readonly value = Buffer.alloc(100, 0x61);

  constructor(private readonly db: Database, private readonly table: string) {}

  async run(until: () => boolean): Promise<number[]> {
    const lat: number[] = [];
    while (!until()) {
      const key = `k${(this.n++).toString().padStart(12, '0')}`;
      const t = performance.now();
      await this.db.put(this.table, key, this.value);
      lat.push(performance.now() - t);
    }
    return lat;
  }
}

function phase(lat: number[], ms: number): CommitPhase {
  const sorted = [...lat].sort((a, b) => a - b);
  return {
    commits: lat.length, seconds: round(ms / 1000, 3), commitsPerSecond: round(lat.length / (ms / 1000), 1),
    p50Ms: round(quantile(sorted, 0.5), 2), p99Ms: round(quantile(sorted, 0.99), 2), maxMs: round(sorted[sorted.length - 1] ?? 0, 2),
  };
}

async function runCommits(inst: Instance, db: Database, spec: CommitRunSpec): Promise<CommitRunReport> {
  const w = new Writer(db, spec.table);
  await w.run(((left) => () => left-- <= 0)(20)); // warm-up: the tree's path in the cache, the log file open
  let t0 = performance.now();
  const deadline0 = t0 + spec.seconds * 1000;
  const latWithout = await w.run(() => performance.now() >= deadline0);
  const without = phase(latWithout, performance.now() - t0);

  const backups: { ms: number; bytes: number }[] = [];
  let backingUp = true;
  t0 = performance.now();
  const deadline = t0 + spec.seconds * 1000;
  const backupLoop = (async () => {
    try {
      do {
        const dest = path.join(spec.destRoot, `b${backups.length}`);
        await mkdir(dest);
        const b0 = performance.now();
        const r = await inst.backup(dest);
        backups.push({ ms: round(performance.now() - b0, 1), bytes: r.bytes });
      } while (performance.now() < deadline);
    } finally {
      backingUp = false;
    }
  })();
  const latDuring = await w.run(() => !backingUp);
  const during = phase(latDuring, performance.now() - t0);
  await backupLoop; // rethrows a backup failure
  return { without, during, backups, maxRssBytes: 0 };
}

async function main(): Promise<void> {
  const arg = process.argv[2];
  if (arg === undefined) throw new Error('usage: node dist/bench/backup-run.js <RunSpec as JSON> (run by bench/backup.ts)');
  const spec = JSON.parse(arg) as RunSpec;
  const inst = await Instance.open(spec.instanceDir);
  try {
    inst.on('event', (e) => {
      if (e.type === 'checkpoint-failed' || e.type === 'fatal') process.stderr.write(`backup-run: ${e.type}: ${String(e.error)}\n`);
    });
    const db = await inst.openDatabase(spec.dbName);
    const report = spec.mode === 'backup' ? await runBackup(inst, spec) : await runCommits(inst, db, spec);
    await inst.close();
    report.maxRssBytes = maxRssBytes();
    process.stdout.write(`${JSON.stringify(report)}\n`);
  } finally {
    if (inst.state !== 'closed') await inst.close().catch(() => undefined);
  }
}

main().catch((e) => {
  console.error(`backup-run: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
  process.exit(1);
});
