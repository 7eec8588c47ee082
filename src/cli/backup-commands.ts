/**
 * backup, bulk and truncate-logs.
 *
 * CONCURRENCY NOTES (bulk)
 * - At most --concurrency instances are in flight at once (p-limit); each is
 *   opened, backed up and closed inside its slot.
 * - Instances the CLI opens itself share one BackupPool (--workers threads);
 *   instances reached through their socket copy on their holder's own pool.
 * - One instance failing never stops the others: each slot catches its error
 *   into its summary row.
 */
import { mkdir } from 'node:fs/promises';
import * as path from 'node:path';
import { Option, type Command } from 'commander';
import pLimit from 'p-limit';
import { JetError } from '../errors.js';
import { BackupPool } from '../backup/pool.js';
import { JET_bitBackupAtomic, JET_bitBackupIncremental, type BackupProgress, type BackupResult } from '../backup/options.js';
import { intIn, parseBytes, type CliContext } from './args.js';
import { accessInstance, type CliBackupOptions, type InstanceAccess } from './instance-access.js';
import {
  EXIT_JET, UsageError, errorJson, errorLine, fmtBytes, fmtMs, fmtRate, gbPerSec, table, type Output,
} from './output.js';

interface BackupFlags {
  incremental?: boolean;
  atomic?: boolean;
  workers?: number;
  rate?: number;
  retries?: number;
  retryDelay?: number;
  json?: boolean;
}

function grbitOf(f: BackupFlags): number {
  return (f.incremental ? JET_bitBackupIncremental : 0) | (f.atomic ? JET_bitBackupAtomic : 0);
}

/** The options every backing-up command shares. */
function backupOptions(cmd: Command, workersHelp: string): Command {
  return cmd
    .option('--incremental', 'copy the log generations written since the last backup into an existing set')
    .addOption(new Option('--atomic', 'full backup built in <dir>/temp and swapped into <dir>/new (the previous set stays until then)').conflicts('incremental'))
    .option('--workers <n>', workersHelp, intIn('--workers', 1, 256))
    .option('--rate <bytes/s>', 'limit the copy to about this many bytes per second (e.g. 200M, 1.5G, 64MiB)', parseBytes)
    .option('--retries <n>', 're-reads of a page that fails verification, for instances esebackup opens itself (default 16)', intIn('--retries', 0, 1000))
    .option('--retry-delay <ms>', 'back-off unit between re-reads, ms (default 100)', intIn('--retry-delay', 0, 60_000))
    .option('--json', 'print JSON lines (events, then the result) instead of text');
}

/** Backup options for one instance: a shared pool only for instances opened here. */
function optionsFor(a: InstanceAccess, f: BackupFlags, signal: AbortSignal, pool?: BackupPool): CliBackupOptions {
  const o: CliBackupOptions = { signal };
  if (f.rate !== undefined) o.rateBytesPerSec = f.rate;
  if (a.mode === 'local') {
    if (pool) o.pool = pool;
    else if (f.workers !== undefined) o.workers = f.workers;
    if (f.retries !== undefined) o.retries = f.retries;
    if (f.retryDelay !== undefined) o.retryDelayMs = f.retryDelay;
  } else if (f.workers !== undefined) {
    o.workers = f.workers;
  }
  return o;
}

function noteAccess(out: Output, a: InstanceAccess): void {
  out.event('instance', { instance: a.dir, mode: a.mode, pid: a.pid });
  if (a.mode === 'socket') out.note(`instance ${a.dir} is open in process ${a.pid}: working through its socket`, { instance: a.dir });
  if (a.recovered) {
    const r = a.recovered;
    out.note(`instance ${a.dir} was not shut down cleanly: recovery replayed ${r.generations} generation(s), ${r.transactionsRedone} transaction(s) redone, ${r.transactionsDropped} dropped`,
      { instance: a.dir, recovery: r });
  }
}

function describeBackup(dir: string, r: BackupResult): string[] {
  const pages = r.databases.reduce((n, d) => n + d.bytes, 0);
  const gens = r.generations ? `generations ${r.generations.low}..${r.generations.high} (${r.logs.length} logs)` : 'no generations';
  const lines = [
    r.type === 'full'
      ? `full backup of ${dir} into ${r.path}: ${r.databases.length} database(s), ${fmtBytes(pages)} of pages (${r.pagesVerified} verified, ${r.pagesReread} re-read), ${gens}`
      : `incremental backup of ${dir} into ${r.path}: ${gens}`,
    `  ${fmtBytes(r.bytes)} in ${fmtMs(r.durationMs)} = ${fmtRate(r.bytes, r.durationMs)}`,
  ];
  if (r.truncated.length > 0) lines.push(`  deleted ${r.truncated.length} log generation(s) the instance no longer needs (${r.truncated[0]}..${r.truncated[r.truncated.length - 1]})`);
  for (const w of r.warnings) lines.push(`  warning: ${w}`);
  return lines;
}

async function backupCommand(ctx: CliContext, out: Output, instanceDir: string, backupDir: string, f: BackupFlags): Promise<void> {
  const a = await accessInstance(instanceDir, 'back up');
  try {
    noteAccess(out, a);
    if (!f.incremental) await mkdir(path.resolve(backupDir), { recursive: true });
    const bar = out.bar(path.basename(a.dir));
    const status = (snp: number, snt: number, p?: BackupProgress) => {
      out.event('status', { instance: a.dir, snp, snt, progress: p });
      bar.status(snt, p);
    };
    const r = await a.backup(backupDir, grbitOf(f), status, optionsFor(a, f, ctx.signal));
    bar.done(true);
    out.stopBars();
    out.result('backup', true, { instance: a.dir, mode: a.mode, backup: r });
    for (const l of describeBackup(a.dir, r)) out.line(l);
  } finally {
    await a.close();
  }
}

interface BulkRow {
  instance: string;
  name: string;
  dest: string;
  mode: 'local' | 'socket' | null;
  type: string;
  bytes: number;
  durationMs: number;
  gbPerSec: number;
  ok: boolean;
  error: ReturnType<typeof errorJson> | null;
  warnings: string[];
}

async function bulkOne(ctx: CliContext, out: Output, dir: string, dest: string, f: BackupFlags, pool: () => BackupPool): Promise<BulkRow> {
  const name = path.basename(dir);
  const row: BulkRow = {
    instance: dir, name, dest, mode: null, type: f.incremental ? 'incremental' : 'full',
    bytes: 0, durationMs: 0, gbPerSec: 0, ok: false, error: null, warnings: [],
  };
  const t0 = performance.now();
  const bar = out.bar(name);
  let a: InstanceAccess | undefined;
  try {
    if (ctx.signal.aborted) throw new JetError('errBackupAbortByCaller', `backup of ${dir} not started: interrupted`);
    bar.phase('opening');
    a = await accessInstance(dir, 'back up');
    row.mode = a.mode;
    noteAccess(out, a);
    if (!f.incremental) await mkdir(dest, { recursive: true });
    const status = (snp: number, snt: number, p?: BackupProgress) => {
      out.event('status', { instance: dir, snp, snt, progress: p });
      bar.status(snt, p);
    };
    const r = await a.backup(dest, grbitOf(f), status, optionsFor(a, f, ctx.signal, a.mode === 'local' ? pool() : undefined));
    Object.assign(row, { ok: true, type: r.type, dest: r.path ?? dest, bytes: r.bytes, durationMs: r.durationMs, gbPerSec: gbPerSec(r.bytes, r.durationMs), warnings: r.warnings });
    bar.done(true);
  } catch (e) {
    row.durationMs = performance.now() - t0;
    row.error = errorJson(e);
    bar.done(false);
    out.note(errorLine(e).replace(/^esebackup: /, `${name}: `), { instance: dir, error: row.error });
  } finally {
    try {
      await a?.close();
    } catch (e) {
      row.warnings.push(`closing the instance after its backup failed: ${errorLine(e).replace(/^esebackup: /, '')}`);
    }
  }
  out.event('instance-result', { instance: dir, summary: row });
  return row;
}

async function bulkCommand(ctx: CliContext, out: Output, dirs: string[], f: BackupFlags & { dest: string; concurrency?: number }): Promise<number> {
  const root = path.resolve(f.dest);
  const abs = dirs.map((d) => path.resolve(d));
  const byName = new Map<string, string>();
  for (const d of abs) {
    const n = path.basename(d);
    const other = byName.get(n);
    if (other !== undefined) throw new UsageError(`${other} and ${d} would both back up into ${path.join(root, n)}; give instances distinct directory names`);
    byName.set(n, d);
  }
  await mkdir(root, { recursive: true });
  out.names([...byName.keys()]);
  let shared: BackupPool | undefined;
  const pool = () => (shared ??= new BackupPool(f.workers !== undefined ? { workers: f.workers } : {}));
  const limit = pLimit(f.concurrency ?? 2);
  const t0 = performance.now();
  let rows: BulkRow[];
  try {
    rows = await Promise.all(abs.map((d) => limit(() => bulkOne(ctx, out, d, path.join(root, path.basename(d)), f, pool))));
  } finally {
    await shared?.close();
  }
  out.stopBars();
  const failed = rows.filter((r) => !r.ok);
  const totalBytes = rows.reduce((n, r) => n + r.bytes, 0);
  const wallMs = performance.now() - t0;
  out.result('bulk', failed.length === 0, {
    dest: root, succeeded: rows.length - failed.length, failed: failed.length, bytes: totalBytes, durationMs: wallMs, instances: rows,
  });
  out.line(table(['instance', 'type', 'size', 'time', 'GB/s', 'result'], rows.map((r) => [
    r.name, r.type, r.ok ? fmtBytes(r.bytes) : '-', fmtMs(r.durationMs), r.ok ? r.gbPerSec.toFixed(3) : '-',
    r.ok ? (r.warnings.length > 0 ? `ok (${r.warnings.length} warning(s))` : 'ok') : `FAILED ${r.error!.errName ?? 'error'} (${r.error!.err ?? '?'}): ${r.error!.message}`,
  ])));
  out.line(`${rows.length - failed.length} of ${rows.length} instance(s) backed up into ${root}: ${fmtBytes(totalBytes)} in ${fmtMs(wallMs)} = ${fmtRate(totalBytes, wallMs)}` +
    (failed.length > 0 ? `; FAILED: ${failed.map((r) => r.name).join(', ')}` : ''));
  if (failed.length > 0) {
    const first = failed[0]!.error!;
    process.stderr.write(`esebackup: ${first.errName ?? 'internal error'}${first.err !== null ? ` (${first.err})` : ''}: ` +
      `${failed.length} of ${rows.length} backups failed: ${failed.map((r) => `${r.name} (${r.error!.errName ?? 'error'})`).join(', ')}\n`);
    return EXIT_JET;
  }
  return 0;
}

async function truncateCommand(ctx: CliContext, out: Output, instanceDir: string): Promise<void> {
  const a = await accessInstance(instanceDir, 'truncate the logs of');
  try {
    noteAccess(out, a);
    const r = await a.truncate((snp, snt, p) => out.event('status', { instance: a.dir, snp, snt, progress: p }), ctx.signal);
    out.result('truncate-logs', true, { instance: a.dir, mode: a.mode, truncated: r.truncated, warnings: r.warnings });
    out.line(r.truncated.length > 0
      ? `deleted ${r.truncated.length} log generation(s) from ${a.dir}: ${r.truncated[0]}..${r.truncated[r.truncated.length - 1]}`
      : `nothing to delete in ${a.dir}: every generation on disk is still needed by crash recovery`);
  } finally {
    await a.close();
  }
}

export function registerBackupCommands(program: Command, ctx: CliContext): void {
  backupOptions(program.command('backup')
    .description('back up one instance (full, incremental or atomic), online: writers keep committing')
    .argument('<instanceDir>', 'the instance directory')
    .argument('<backupDir>', 'where the set goes (created if missing; must be empty for a full backup)'),
  'worker threads copying and verifying pages (default 2)')
    .action((instanceDir: string, backupDir: string, f: BackupFlags) =>
      ctx.run('backup', f, (out) => backupCommand(ctx, out, instanceDir, backupDir, f)));

  backupOptions(program.command('bulk')
    .description('back up many instances, a bounded number at once, each into <root>/<instance name>/; a summary table at the end')
    .requiredOption('--dest <root>', 'the directory the sets go under')
    .option('--concurrency <n>', 'instances backed up at once (default 2)', intIn('--concurrency', 1, 64))
    .argument('<instanceDir...>', 'instance directories (distinct names)'),
  'worker threads of the pool the backups share (default 2)')
    .action((dirs: string[], f: BackupFlags & { dest: string; concurrency?: number }) =>
      ctx.run('bulk', f, (out) => bulkCommand(ctx, out, dirs, f)));

  program.command('truncate-logs')
    .description('delete the log generations below the checkpoint, which crash recovery no longer needs (a backup with no destination); ' +
      'generations not yet in a backup go too, and an incremental backup is then refused until the next full one')
    .argument('<instanceDir>', 'the instance directory')
    .option('--json', 'print JSON lines instead of text')
    .action((instanceDir: string, f: { json?: boolean }) => ctx.run('truncate-logs', f, (out) => truncateCommand(ctx, out, instanceDir)));
}
