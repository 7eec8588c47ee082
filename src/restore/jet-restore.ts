/**
 * The seed's restore forms, resolving to a JET_err number (JET_errSuccess on
 * success) instead of throwing: JetRestore(sz, pfn) restores to the
 * instance's original directory (recorded in the manifest), JetRestore2 to
 * szDest (null: the original directory, as in ESE).
 */
import { JetError, JET_errSuccess } from '../errors.js';
import { findSet, readManifest } from '../backup/destination.js';
import type { StatusCallback } from '../backup/options.js';
import { nodeFileSystem } from '../io/file-system.js';
import { restore } from './restore.js';

export function JetRestore(sz: string, pfn?: StatusCallback | null): Promise<number> {
  return JetRestore2(sz, null, pfn);
}

export async function JetRestore2(sz: string, szDest: string | null, pfn?: StatusCallback | null): Promise<number> {
  try {
    let dest = szDest;
    if (dest === null || dest === undefined) {
      if (typeof sz !== 'string' || sz.length === 0) throw new JetError('JET_errInvalidParameter', 'JetRestore needs the backup directory');
      const setDir = await findSet(nodeFileSystem, sz);
      if (!setDir) throw new JetError('JET_errPatchFileMissing', `${sz} holds no complete backup set`);
      dest = (await readManifest(nodeFileSystem, setDir)).instanceDir;
    }
    await restore(sz, dest, { createPathIfNotExist: true, ...(pfn ? { status: pfn } : {}) });
    return JET_errSuccess;
  } catch (e) {
    if (e instanceof JetError) return e.err;
    throw e;
  }
}
