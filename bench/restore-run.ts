/**
 * One measured run of bench/restore.ts, in a process of its own so that its
 * peak RSS (process.resourceUsage().maxRSS, worker threads included) is its
 * own. Not meant to be run by hand.
 *
 *   node dist/bench/restore-run.js '<RunSpec as JSON>'
 *
 * Prints one line of JSON (VerifyRunReport or RestoreRunReport) on stdout.
 *
 * Modes:
 *   verify   verify(spec.dir, { workers }) of a backup set or a closed
 *            instance directory; wall time of the call (with warmPool, of
 *            the second of two calls sharing one pool);
 *   restore  restore(spec.setDir, spec.dest) into a directory that does not
 *            exist yet (createPathIfNotExist), then a reopen of the result to
 *            check that its recovery redoes nothing (not timed).
 *
 * How the restore is split into phases. restore() runs: verify the set,
 * take the destination, copy every database and generation (copyFileDurable:
 * read, write, fdatasync), write the checkpoint and the next generation, open
 * the instance there (crash recovery replays the generations), close it
 * cleanly. Its JET_snpRestore status says too little to split that: begin
 * comes before the verify, the first progress after the first file has been
 * copied, progress is sent at most every 100 ms (so the last copy may be
 * silent), and the only replay event comes after the replay and the close.
 * So the run passes restore an instrumented FileSystem (RestoreOptions.io,
 * node:fs underneath, which only notes when files are opened):
 *   copy start  = the first file created in the destination other than the
 *                 instance lock (the first database copy);
 *   copy end    = the creation of <base>.chk.tmp (the checkpoint, written
 *                 right after the last copy);
 *   replay end  = restore() resolving (recovery and the clean close: what
 *                 redo wrote reaches the disk in the close).
 * The status events are kept in the report too (time, phase, bytes), as a
 * cross-check: the last 'pages' event must not come after copy end.
 */
import * as path from 'node:path';
import { Instance } from '../src/engine/instance.js';
import { LOCK_NAME } from '../src/engine/instance-lock.js';
import type { RecoveryStats } from '../src/engine/recovery.js';
import { nodeFileSystem, type FileSystem } from '../src/io/file-system.js';
import type { BackupProgress } from '../src/backup/options.js';
import { restore } from '../src/restore/restore.js';
import { verify, type VerifyReport } from '../src/restore/verify.js';
import { BackupPool } from '../src/backup/pool.js';

/** warmPool: verify twice on one pool made beforehand and time the second call (no worker start-up). */
export interface VerifyRunSpec { mode: 'verify'; dir: string; workers?: number; warmPool?: boolean }
export interface RestoreRunSpec { mode: 'restore'; setDir: string; dest: string; logFileSize: number }
export type RunSpec = VerifyRunSpec | RestoreRunSpec;

export interface VerifyRunReport {
  /** Wall time of the verify() call (pool start and close included, unless warmPool). */
  ms: number;
  kind: string;
  ok: boolean;
  problems: number;
  firstProblem: string | null;
  /** VerifyReport.bytes: databases + logs for a set, databases only for an instance directory. */
  bytes: number;
  pagesVerified: number;
  generations: { low: number; high: number } | null;
  maxRssBytes: number;
}

export interface StatusEvent { ms: number; snt: number; phase?: string; file?: string; done: number }

export interface RestoreRunReport {
  /** Wall time of the restore() call, and RestoreResult.durationMs. */
  ms: number;
  durationMs: number;
  /** Milliseconds from the call: the first copy created, the checkpoint created (copy end). */
  copyStartMs: number;
  copyEndMs: number;
  /** RestoreResult.bytes: what was copied (databases + generations). */
  bytes: number;
  generations: { low: number; high: number };
  recovery: RecoveryStats | null;
  status: StatusEvent[];
  /** Instance.open(dest) afterwards found nothing to redo. */
  reopenedClean: boolean;
  maxRssBytes: number;
}

const round = (x: number, d: number): number => Math.round(x * 10 ** d) / 10 ** d;
const maxRssBytes = (): number => process.resourceUsage().maxRSS * 1024; // maxRSS is in KiB

async function runVerify(spec: VerifyRunSpec): Promise<VerifyRunReport> {
  const pool = spec.warmPool ? new BackupPool(spec.workers !== undefined ? { workers: spec.workers } : {}) : undefined;
  try {
    if (pool) await verify(spec.dir, { pool });
    const t0 = performance.now();
    const r = await verify(spec.dir, pool ? { pool } : spec.workers !== undefined ? { workers: spec.workers } : {});
    return report(r, performance.now() - t0);
  } finally {
    await pool?.close();
  }
}

function report(r: VerifyReport, ms: number): VerifyRunReport {
  const p = r.problems[0];
  return {
    ms: round(ms, 1), kind: r.kind, ok: r.ok, problems: r.problems.length,
    firstProblem: p ? `${p.errName} ${p.file}${p.page !== undefined ? ` page ${p.page}` : ''}: ${p.what}` : null,
    bytes: r.bytes, pagesVerified: r.databases.reduce((n, d) => n + d.pagesVerified, 0), generations: r.generations,
    maxRssBytes: maxRssBytes(),
  };
}

async function runRestore(spec: RestoreRunSpec): Promise<RestoreRunReport> {
  const dest = path.resolve(spec.dest);
  let t0 = 0;
  let copyStart = NaN;
  let copyEnd = NaN;
  const io: FileSystem = {
    ...nodeFileSystem,
    open(p, mode) {
      if (mode === 'wx' && path.dirname(path.resolve(p)) === dest) {
        const name = path.basename(p);
        const now = performance.now() - t0;
        if (Number.isNaN(copyStart) && name !== LOCK_NAME && !name.endsWith('.tmp')) copyStart = now;
        if (Number.isNaN(copyEnd) && name.toLowerCase().endsWith('.chk.tmp')) copyEnd = now;
      }
      return nodeFileSystem.open(p, mode);
    },
  };
  const status: StatusEvent[] = [];
  const onStatus = (_snp: number, snt: number, p?: BackupProgress): void => {
    status.push({ ms: round(performance.now() - t0, 1), snt, ...(p?.phase ? { phase: p.phase } : {}), ...(p?.file ? { file: p.file } : {}), done: p?.cunitDone ?? 0 });
  };
  t0 = performance.now();
  const r = await restore(spec.setDir, dest, { io, status: onStatus, createPathIfNotExist: true });
  const ms = performance.now() - t0;
  const inst = await Instance.open(dest, { logFileSize: spec.logFileSize });
  const again = inst.recovery; // null only for a new instance: a reopen runs recovery, which should find nothing to redo
  const reopenedClean = !again || (again.transactionsRedone === 0 && again.pagesApplied === 0);
  await inst.close();
  return {
    ms: round(ms, 1), durationMs: round(r.durationMs, 1), copyStartMs: round(copyStart, 1), copyEndMs: round(copyEnd, 1),
    bytes: r.bytes, generations: r.generations, recovery: r.recovery, status, reopenedClean, maxRssBytes: maxRssBytes(),
  };
}

async function main(): Promise<void> {
  const arg = process.argv[2];
  if (arg === undefined) throw new Error('usage: node dist/bench/restore-run.js <RunSpec as JSON> (run by bench/restore.ts)');
  const spec = JSON.parse(arg) as RunSpec;
  const report = spec.mode === 'verify' ? await runVerify(spec) : await runRestore(spec);
  process.stdout.write(`${JSON.stringify(report)}\n`);
}

main().catch((e) => {
  console.error(`restore-run: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
  process.exit(1);
});
