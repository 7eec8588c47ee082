/**
 * Where the generations of an instance are on disk, and the file-level steps
 * of starting a generation. Names are in format/log-names.ts.
 */
import * as path from 'node:path';
import { fromFsError } from '../errors.js';
import { encodeLogHeader, type LogHeader } from '../format/log-header.js';
import { archivedLogName, currentLogName, parseArchivedLogName, tmpLogName } from '../format/log-names.js';
import type { FileHandle, FileSystem } from '../io/file-system.js';

export interface LogDir {
  io: FileSystem;
  dir: string;
  base: string;
}

export interface LogListing {
  /** Finished generations present as <base>XXXXXXXX.log, ascending. */
  archived: number[];
  hasCurrent: boolean;
  hasTmp: boolean;
}

export function currentPath(d: LogDir): string { return path.join(d.dir, currentLogName(d.base)); }
export function tmpPath(d: LogDir): string { return path.join(d.dir, tmpLogName(d.base)); }
export function archivedPath(d: LogDir, gen: number): string { return path.join(d.dir, archivedLogName(d.base, gen)); }

export async function listLogs(d: LogDir): Promise<LogListing> {
  let names: string[];
  try {
    names = await d.io.readdir(d.dir);
  } catch (e) {
    throw fromFsError(e, `listing log directory ${d.dir}`);
  }
  const archived: number[] = [];
  for (const n of names) {
    const g = parseArchivedLogName(d.base, n);
    if (g !== undefined) archived.push(g);
  }
  archived.sort((a, b) => a - b);
  return { archived, hasCurrent: names.includes(currentLogName(d.base)), hasTmp: names.includes(tmpLogName(d.base)) };
}

/**
 * Create <base>tmp.log holding `header`, sized to the generation's fixed size
 * and synced. It becomes <base>.log by rename (installGeneration).
 *
 * Built under a scratch name and renamed over <base>tmp.log, so an existing
 * tmp file (which may be the only trace of an interrupted roll) is replaced
 * in one step and never simply deleted.
 */
export async function prepareGeneration(d: LogDir, header: LogHeader): Promise<FileHandle> {
  const tmp = tmpPath(d);
  const scratch = `${tmp}.new`;
  if (await d.io.exists(scratch)) await d.io.unlink(scratch);
  const fh = await d.io.open(scratch, 'wx');
  try {
    const block = encodeLogHeader(header);
    await fh.write(block, 0, block.length, 0);
    await fh.truncate(header.logFileSize);
    await fh.datasync();
    await d.io.rename(scratch, tmp);
    // The tmp file's name must be durable before the renames that depend on it.
    await d.io.syncDir(d.dir);
  } catch (e) {
    await fh.close().catch(() => undefined);
    throw e;
  }
  return fh;
}

/**
 * The roll on disk: <base>.log (generation `finished`, already synced with its
 * ROLL record) becomes <base>XXXXXXXX.log, then <base>tmp.log becomes <base>.log.
 * A crash between the two renames leaves the numbered file and the tmp file;
 * the instance finishes the roll when it next opens.
 */
export async function installGeneration(d: LogDir, finished: number | undefined): Promise<void> {
  if (finished !== undefined) await d.io.rename(currentPath(d), archivedPath(d, finished));
  await d.io.rename(tmpPath(d), currentPath(d));
  await d.io.syncDir(d.dir);
}
