/**
 * restoreDrill(backupDir): prove a backup restores. Restore it into a scratch
 * directory, open the result, walk every table's B+tree of every database
 * (structure, key order, long values, free list; every page read is
 * checksum-verified), report, and remove the scratch directory.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { JetError } from '../errors.js';
import { Instance } from '../engine/instance.js';
import type { TreeCheckReport } from '../tables/check-tree.js';
import { restore, type RestoreOptions, type RestoreResult } from './restore.js';

export interface DrillReport {
  ok: boolean;
  restore: RestoreResult | null;
  databases: { name: string; tables: number; rows: number; pagesInUse: number; problems: string[] }[];
  /** The error that stopped the drill (restore refused, or the restored instance would not open). */
  error: { err: number; errName: string; message: string } | null;
  durationMs: number;
}

export async function restoreDrill(backupDir: string, options: Pick<RestoreOptions, 'signal' | 'pool' | 'upTo'> & { scratchDir?: string } = {}): Promise<DrillReport> {
  const t0 = performance.now();
  const scratch = await mkdtemp(path.join(options.scratchDir ?? tmpdir(), 'esebackup-drill-'));
  const report: DrillReport = { ok: false, restore: null, databases: [], error: null, durationMs: 0 };
  try {
    report.restore = await restore(backupDir, path.join(scratch, 'instance'), { ...options, createPathIfNotExist: true });
    const inst = await Instance.open(path.join(scratch, 'instance'), report.restore.params);
    try {
      for (const name of report.restore.databases) {
        const db = await inst.openDatabase(name);
        const check: TreeCheckReport = await db.checkTables();
        let rows = 0;
        for (const t of check.tables) rows += t.rows;
        report.databases.push({ name, tables: check.tables.length, rows, pagesInUse: check.pagesInUse, problems: check.problems });
      }
    } finally {
      await inst.close();
    }
    report.ok = report.databases.every((d) => d.problems.length === 0);
  } catch (e) {
    const j = e instanceof JetError ? e : new JetError('JET_errDiskIO', String(e), { cause: e });
    report.error = { err: j.err, errName: j.errName, message: j.detail };
  } finally {
    await rm(scratch, { recursive: true, force: true });
    report.durationMs = performance.now() - t0;
  }
  return report;
}
