/**
 * Helpers for the backup error / cleanup / status tests: small instances,
 * what a failed backup must leave alone (log generations, database headers,
 * the destination), and restoring a set to compare its contents.
 */
import { expect } from 'chai';
import { readdir, stat } from 'node:fs/promises';
import * as path from 'node:path';
import { DatabaseFile } from '../../src/engine/database-file.js';
import type { Database } from '../../src/engine/database.js';
import { Instance } from '../../src/engine/instance.js';
import type { InstanceParams } from '../../src/engine/params.js';
import type { BkInfo } from '../../src/format/db-header.js';
import { nodeFileSystem } from '../../src/io/file-system.js';
import { restore } from '../../src/restore/restore.js';
import { tmpDir } from '../helpers/tmp-dir.js';

/** Small logs and pages: a few hundred rows fill several generations. */
export const SMALL: InstanceParams = { logFileSize: 64 * 1024, pageSize: 4096 };

/** Instances a test opened; `closeOpened` (afterEach) closes any a failing test left open. */
const opened: Instance[] = [];

export async function openInstance(params: InstanceParams = {}, dir?: string): Promise<{ dir: string; inst: Instance; db: Database }> {
  const d = dir ?? await tmpDir('backup-inst-');
  const inst = track(await Instance.open(d, { ...SMALL, ...params }));
  const db = await inst.openDatabase('main.edb', { create: true });
  return { dir: d, inst, db };
}

/** Track an instance opened some other way. */
export function track(inst: Instance): Instance {
  opened.push(inst);
  return inst;
}

export async function closeOpened(): Promise<void> {
  while (opened.length > 0) await opened.pop()!.close().catch(() => undefined);
}

/** Put `n` rows `<prefix>NNNNN` -> ~200 bytes into table 't', lazily committed. */
export async function fill(db: Database, n: number, prefix = 'k'): Promise<void> {
  for (let i = 0; i < n; i++) {
    await db.put('t', Buffer.from(`${prefix}${String(i).padStart(5, '0')}`), Buffer.from(`${prefix}:${i}:${'v'.repeat(200)}`), { durable: false });
  }
}

/** Every row of table 't' as "key=value" strings, in key order. */
export async function rowsOf(db: Database): Promise<string[]> {
  const out: string[] = [];
  for await (const { key, value } of db.range('t')) out.push(`${key.toString()}=${value.toString()}`);
  return out;
}

/** Log files (finished generations and the current one) in an instance directory. */
export async function logFiles(dir: string): Promise<string[]> {
  return (await readdir(dir)).filter((n) => /^edb([0-9A-F]{8})?\.log$/.test(n)).sort();
}

/** Every file under `dir`, as paths relative to it ('new/main.edb'; an empty directory as 'x/'); [] when dir is missing. */
export async function listTree(dir: string): Promise<string[]> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw e;
  }
  const out: string[] = [];
  for (const n of names.sort()) {
    const p = path.join(dir, n);
    if ((await stat(p)).isDirectory()) {
      const inner = await listTree(p);
      out.push(...(inner.length > 0 ? inner.map((x) => `${n}/${x}`) : [`${n}/`]));
    } else out.push(n);
  }
  return out;
}

/** Name, size and mtime of every file under `dir`: equal before and after means untouched. */
export async function fingerprint(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const rel of await listTree(dir)) {
    if (rel.endsWith('/')) { out.push(rel); continue; }
    const s = await stat(path.join(dir, rel));
    out.push(`${rel} ${s.size} ${s.mtimeMs}`);
  }
  return out;
}

export interface SourceState {
  logs: string[];
  headers: { name: string; full: BkInfo; inc: BkInfo }[];
}

/** What a failed backup must not change in the instance: its log files and the databases' backup info. */
export async function sourceState(inst: Instance): Promise<SourceState> {
  return {
    logs: await logFiles(inst.params.logFilePath),
    headers: inst.databases().map((d) => ({ name: d.name, full: d.file.header.bkinfoFullPrev, inc: d.file.header.bkinfoIncPrev })),
  };
}

/** No log file deleted (a failed backup may have rolled, adding one). */
export function expectNoLogDeleted(before: string[], after: string[]): void {
  expect(before.filter((n) => !after.includes(n)), 'log files deleted by a failed backup').to.deep.equal([]);
}

/** No log generation deleted and no header change. */
export async function expectSourceUntouched(inst: Instance, before: SourceState): Promise<void> {
  const after = await sourceState(inst);
  expectNoLogDeleted(before.logs, after.logs);
  expect(after.headers, 'database headers (bkinfoFullPrev / bkinfoIncPrev)').to.deep.equal(before.headers);
}

/** The backup info of a database file as it is on disk (for an instance already closed). */
export async function diskBkInfo(file: string): Promise<{ full: BkInfo; inc: BkInfo }> {
  const f = await DatabaseFile.open(nodeFileSystem, file, 'r');
  await f.close();
  return { full: f.header.bkinfoFullPrev, inc: f.header.bkinfoIncPrev };
}

/** Restore the set in `backupDir` into a fresh directory and read table 't' back. */
export async function restoredRows(backupDir: string, db = 'main.edb'): Promise<string[]> {
  const dest = await tmpDir('backup-restore-');
  await restore(backupDir, dest);
  const inst = track(await Instance.open(dest, SMALL));
  try {
    return await rowsOf(await inst.openDatabase(db));
  } finally {
    await inst.close();
  }
}
