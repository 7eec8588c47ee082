/**
 * restore and verify [--drill].
 */
import * as path from 'node:path';
import type { Command } from 'commander';
import { JetError } from '../errors.js';
import type { BackupProgress } from '../backup/options.js';
import { restore } from '../restore/restore.js';
import { verify, type VerifyReport } from '../restore/verify.js';
import type { VerifyProblem } from '../restore/verify-set.js';
import { restoreDrill, type DrillReport } from '../restore/drill.js';
import { parseUpTo, type CliContext } from './args.js';
import { listInstanceFiles } from './files.js';
import { EXIT_JET, fmtBytes, fmtMs, fmtRate, type Output } from './output.js';

interface RestoreFlags {
  upTo?: number | Date;
  overwrite?: boolean;
  json?: boolean;
}

async function restoreCommand(ctx: CliContext, out: Output, backupDir: string, destDir: string, f: RestoreFlags): Promise<void> {
  const bar = out.bar('restore');
  const status = (snp: number, snt: number, p?: BackupProgress) => {
    out.event('status', { snp, snt, progress: p });
    bar.status(snt, p);
  };
  const r = await restore(backupDir, destDir, {
    status, createPathIfNotExist: true, signal: ctx.signal,
    ...(f.overwrite ? { overwrite: true } : {}), ...(f.upTo !== undefined ? { upTo: f.upTo } : {}),
  });
  bar.done(true);
  out.stopBars();
  out.result('restore', true, { restore: r });
  const rec = r.recovery;
  out.line(`restored ${r.setDir} into ${r.destDir}: ${r.databases.length} database(s) (${r.databases.join(', ')}), ` +
    `generations ${r.generations.low}..${r.generations.high} replayed${rec ? ` (${rec.transactionsRedone} transactions redone, ${rec.pagesApplied} page changes applied)` : ''}`);
  out.line(`  ${fmtBytes(r.bytes)} copied, restore took ${fmtMs(r.durationMs)}; the instance opens with baseName ${r.params.baseName}, ` +
    `pageSize ${r.params.pageSize}, logFileSize ${r.params.logFileSize} (esebackup reads them from the files)`);
}

function problemError(p: VerifyProblem, count: number, dir: string): JetError {
  const where = p.page !== undefined ? ` page ${p.page}` : p.generation !== undefined ? ` (generation ${p.generation})` : '';
  const more = count > 1 ? ` (and ${count - 1} more problem${count > 2 ? 's' : ''})` : '';
  return new JetError(p.errName, `verification of ${dir} failed: ${p.file}${where}: ${p.what}${more}`);
}

function describeVerify(out: Output, r: VerifyReport): void {
  const pages = r.databases.reduce((n, d) => n + d.pagesVerified, 0);
  const what = r.kind === 'backup-set' ? `backup set ${r.dir}${r.setDir && r.setDir !== r.dir ? ` (set in ${r.setDir})` : ''}` : `instance ${r.dir}`;
  const gens = r.generations ? `generations ${r.generations.low}..${r.generations.high}` : 'no generations';
  out.line(`${what}: ${r.ok ? 'ok' : `${r.problems.length} PROBLEM(S)`} — ${r.databases.length} database(s), ${pages} pages verified, ${gens}; ` +
    `${fmtBytes(r.bytes)} in ${fmtMs(r.durationMs)} = ${fmtRate(r.bytes, r.durationMs)}`);
  for (const p of r.problems) {
    const where = p.page !== undefined ? ` page ${p.page}` : p.generation !== undefined ? ` generation ${p.generation}` : '';
    out.line(`  ${p.errName} (${p.err}): ${p.file}${where}: ${p.what}`);
  }
}

function describeDrill(out: Output, d: DrillReport): void {
  if (d.error) {
    out.line(`drill: FAILED ${d.error.errName} (${d.error.err}): ${d.error.message}`);
    return;
  }
  out.line(`drill: restored into a scratch directory, opened and walked every tree in ${fmtMs(d.durationMs)}: ${d.ok ? 'ok' : 'PROBLEMS'}`);
  for (const db of d.databases) {
    out.line(`  ${db.name}: ${db.tables} table(s), ${db.rows} row(s), ${db.pagesInUse} pages in use${db.problems.length > 0 ? `; ${db.problems.join('; ')}` : ''}`);
  }
}

async function verifyCommand(ctx: CliContext, out: Output, dir: string, f: { drill?: boolean; json?: boolean }): Promise<number> {
  const abs = path.resolve(dir);
  const files = await listInstanceFiles(abs);
  if (out.bars) out.note(`verifying ${abs} ...`);
  const report = await verify(abs, { baseName: files.baseName, signal: ctx.signal });
  if (f.drill && report.kind !== 'backup-set') {
    throw new JetError('JET_errInvalidParameter', `--drill restores a backup set, and ${abs} is an instance directory; verify it without --drill`);
  }
  let drill: DrillReport | null = null;
  if (f.drill && report.ok) {
    if (out.bars) out.note(`drill: restoring ${abs} into a scratch directory ...`);
    drill = await restoreDrill(abs, { signal: ctx.signal });
  }
  const ok = report.ok && (!f.drill || drill?.ok === true);
  out.result('verify', ok, { verify: report, drill });
  describeVerify(out, report);
  if (drill) describeDrill(out, drill);
  if (ok) return 0;
  const e = !report.ok ? problemError(report.problems[0]!, report.problems.length, abs)
    : drill?.error ? new JetError('JET_errDatabaseCorrupted', `restore drill of ${abs} failed: ${drill.error.errName} (${drill.error.err}): ${drill.error.message}`)
      : new JetError('JET_errDatabaseCorrupted', `restore drill of ${abs}: the restored trees have problems: ${drill!.databases.flatMap((d) => d.problems).slice(0, 3).join('; ')}`);
  process.stderr.write(`esebackup: ${e.errName} (${e.err}): ${e.detail}\n`);
  return EXIT_JET;
}

export function registerRestoreCommands(program: Command, ctx: CliContext): void {
  program.command('restore')
    .description('verify a backup set, then restore it into a directory as a clean instance (replaying its logs)')
    .argument('<backupDir>', 'the backup set (plain, or atomic with new/)')
    .argument('<destDir>', 'the directory to restore into (created if missing; must be empty unless --overwrite)')
    .option('--up-to <gen|time>', 'point in time: replay through this log generation, or through the last one finished by this time', parseUpTo)
    .option('--overwrite', 'replace the instance files already in <destDir>')
    .option('--json', 'print JSON lines (events, then the result) instead of text')
    .action((backupDir: string, destDir: string, f: RestoreFlags) => ctx.run('restore', f, (out) => restoreCommand(ctx, out, backupDir, destDir, f)));

  program.command('verify')
    .description('check a backup set (manifest, every page, range CRCs, every log record, the chain) or an idle instance directory; list every problem')
    .argument('<dir>', 'a backup set or an instance directory nobody has open')
    .option('--drill', 'also restore the set into a scratch directory, open it and walk every tree')
    .option('--json', 'print the report as JSON instead of text')
    .action((dir: string, f: { drill?: boolean; json?: boolean }) => ctx.run('verify', f, (out) => verifyCommand(ctx, out, dir, f)));
}
