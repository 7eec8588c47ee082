/**
 * Restore: bring a backup set back as a clean instance directory.
 *
 *   1. find the set (<dir>/new, <dir>, <dir>/old) and read its manifest;
 *   2. copy its databases and log generations into the (empty) destination;
 *   3. write the checkpoint at the full backup's start checkpoint and
 *      prepare the next generation as <base>tmp.log — on disk this is exactly
 *      an instance whose roll to that generation was cut off;
 *   4. open the instance there: crash recovery replays every copied
 *      generation (redo by dbtime), marks the databases clean and installs
 *      the new generation; close it cleanly.
 * A failure removes everything the restore wrote.
 */
import * as path from 'node:path';
import { JetError, fromFsError } from '../errors.js';
import { copyFileDurable, nodeFileSystem, type FileSystem } from '../io/file-system.js';
import { writeCheckpointFile } from '../engine/checkpoint-file.js';
import { Instance } from '../engine/instance.js';
import { archivedPath, prepareGeneration, type LogDir } from '../engine/log-files.js';
import { readLogHeader } from '../engine/log-reader.js';
import type { RecoveryStats } from '../engine/recovery.js';
import { findSet, readManifest, removeTree } from '../backup/destination.js';

export interface RestoreOptions {
  createPathIfNotExist?: boolean;
  /** File system to use (tests inject faults here). */
  io?: FileSystem;
}

export interface RestoreResult {
  /** The backup set restored from. */
  setDir: string;
  destDir: string;
  databases: string[];
  generations: { low: number; high: number };
  recovery: RecoveryStats | null;
  durationMs: number;
}

export async function restore(backupDir: string, destDir: string, options: RestoreOptions = {}): Promise<RestoreResult> {
  if (typeof backupDir !== 'string' || backupDir.length === 0 || typeof destDir !== 'string' || destDir.length === 0) {
    throw new JetError('JET_errInvalidParameter', 'restore needs a backup directory and a destination directory');
  }
  const io = options.io ?? nodeFileSystem;
  const t0 = performance.now();
  const setDir = await findSet(io, path.resolve(backupDir));
  if (!setDir) {
    throw new JetError('JET_errPatchFileMissing', `${backupDir} holds no complete backup set (no manifest: never finished, or not a backup)`);
  }
  const m = await readManifest(io, setDir);
  const dest = path.resolve(destDir);
  let madeDest = false;
  if (!(await io.exists(dest))) {
    if (!options.createPathIfNotExist) throw new JetError('JET_errInvalidPath', `restore destination ${dest} does not exist`);
    await io.mkdir(dest, true);
    madeDest = true;
  } else if ((await io.readdir(dest)).length > 0) {
    throw new JetError('JET_errInvalidPath', `restore destination ${dest} is not empty`);
  }
  const written: string[] = [];
  try {
    for (const name of [...m.databases.map((d) => d.name), ...m.logs.map((l) => l.name)]) {
      written.push(name);
      await copyFileDurable(io, path.join(setDir, name), path.join(dest, name));
    }
    const d: LogDir = { io, dir: dest, base: m.baseName };
    const last = m.logs[m.logs.length - 1]!;
    written.push(`${m.baseName}.chk`);
    await writeCheckpointFile(io, dest, m.baseName, { lgpos: m.checkpoint, logSignature: m.logSignature, time: Date.now() });
    const h = await readLogHeader(io, archivedPath(d, last.generation));
    written.push(`${m.baseName}tmp.log`);
    const fh = await prepareGeneration(d, {
      generation: last.generation + 1, logFileSize: m.logFileSize, pageSize: m.pageSize,
      timeCreate: Math.max(Date.now(), h.timeCreate + 1), timePrevGen: h.timeCreate, logSignature: m.logSignature, attached: [],
    });
    await fh.close();
    const inst = await Instance.open(dest, { baseName: m.baseName, pageSize: m.pageSize, logFileSize: m.logFileSize, io });
    const recovery = inst.recovery;
    await inst.close();
    return {
      setDir, destDir: dest, databases: m.databases.map((x) => x.name),
      generations: { low: m.logs[0]!.generation, high: last.generation }, recovery, durationMs: performance.now() - t0,
    };
  } catch (e) {
    // Leave the destination as we found it.
    if (madeDest) await removeTree(io, dest).catch(() => undefined);
    else for (const n of await io.readdir(dest).catch(() => [] as string[])) await removeTree(io, path.join(dest, n)).catch(() => undefined);
    throw fromFsError(e, `restoring ${setDir} into ${dest}`);
  }
}
