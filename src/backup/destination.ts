/**
 * The backup directory: where a backup writes, how it commits, and how a
 * failed one leaves nothing behind.
 *
 * Layouts (ESE's):
 *   plain    <dir>/main.edb, <dir>/edb00000003.log, ..., <dir>/esebackup.manifest
 *   atomic   <dir>/new/...  (the current set; <dir>/old/... only in the moment
 *            of a swap), built in <dir>/temp/ and renamed into place.
 *
 * A set is complete only when its manifest is there; the manifest is always
 * the last file written, synced, and renamed into place.
 */
import * as path from 'node:path';
import { JetError, fromFsError } from '../errors.js';
import { MANIFEST_NAME, decodeManifest, encodeManifest, type Manifest } from '../format/backup-manifest.js';
import { writeFileAtomic, type FileSystem } from '../io/file-system.js';

export const ATOMIC_TEMP = 'temp';
export const ATOMIC_NEW = 'new';
export const ATOMIC_OLD = 'old';

/** A backup being written into `setDir`. */
export interface Destination {
  /** Where files go. */
  readonly setDir: string;
  /** Files this backup created (names in setDir), removed again on abort. */
  readonly created: string[];
  /** Write the manifest last and make the set durable (and, atomic, swap it in). Returns the set's final directory. */
  commit(m: Manifest): Promise<string>;
  /** Remove what this backup wrote; never throws. */
  abort(): Promise<void>;
}

async function isDir(io: FileSystem, p: string): Promise<boolean> {
  try {
    await io.readdir(p);
    return true;
  } catch {
    return false;
  }
}

/**
 * Make sure `dir` exists; resolves to the topmost directory this call
 * created (to remove on failure), or undefined when `dir` was there.
 */
async function ensureBackupDir(io: FileSystem, dir: string, createPath: boolean): Promise<string | undefined> {
  if (await io.exists(dir)) {
    if (!(await isDir(io, dir))) throw new JetError('JET_errInvalidPath', `backup path ${dir} is not a readable directory`);
    return undefined;
  }
  if (!createPath) throw new JetError('JET_errInvalidPath', `backup directory ${dir} does not exist (set createPathIfNotExist to create it)`);
  let top = dir;
  while (!(await io.exists(path.dirname(top))) && path.dirname(top) !== top) top = path.dirname(top);
  try {
    await io.mkdir(dir, true);
  } catch (e) {
    throw new JetError('JET_errInvalidPath', `cannot create backup directory ${dir}`, { cause: e });
  }
  return top;
}

/** Delete a directory tree we own (temp, old); missing is fine. */
export async function removeTree(io: FileSystem, dir: string): Promise<void> {
  let names: string[];
  try {
    names = await io.readdir(dir);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
    // Not a directory: a stray file under our name.
    await io.unlink(dir);
    return;
  }
  for (const n of names) {
    const p = path.join(dir, n);
    if (await isDir(io, p)) await removeTree(io, p);
    else await io.unlink(p);
  }
  await io.rmdir(dir);
}

/**
 * Remove `names` from `dir`, the manifest first: a set must never keep a
 * manifest without its files. Names ending in '/' are directories we made
 * (databases in subdirectories), removed with what is left in them.
 */
async function removeQuietly(io: FileSystem, dir: string, names: string[]): Promise<void> {
  names = [MANIFEST_NAME, ...names.filter((n) => n !== MANIFEST_NAME)];
  for (const n of names) if (!n.endsWith('/')) await io.unlink(path.join(dir, n)).catch(() => undefined);
  for (const n of names) if (n.endsWith('/')) await removeTree(io, path.join(dir, n)).catch(() => undefined);
  if (names.length > 0) await io.syncDir(dir).catch(() => undefined);
}

/** A full backup: into an empty `dir`, or (atomic) into `dir`/temp, swapped in as `dir`/new. */
export async function prepareFull(io: FileSystem, dir: string, atomic: boolean, createPath: boolean): Promise<Destination> {
  const madeRoot = await ensureBackupDir(io, dir, createPath);
  const removeMadeRoot = async () => { if (madeRoot) await removeTree(io, madeRoot).catch(() => undefined); };
  if (!atomic) {
    const existing = await io.readdir(dir);
    if (existing.length > 0) {
      throw new JetError('JET_errBackupDirectoryNotEmpty',
        `backup directory ${dir} is not empty (${existing.slice(0, 3).join(', ')}${existing.length > 3 ? ', ...' : ''}); use an empty directory or JET_bitBackupAtomic`);
    }
    const created: string[] = [];
    return {
      setDir: dir, created,
      async commit(m) {
        await writeFileAtomic(io, dir, MANIFEST_NAME, encodeManifest(m));
        return dir;
      },
      async abort() {
        await removeQuietly(io, dir, [...created, `${MANIFEST_NAME}.tmp`]);
        await removeMadeRoot();
      },
    };
  }
  const temp = path.join(dir, ATOMIC_TEMP);
  try {
    // A swap cut off between its renames leaves the only complete set in old/: put it back
    // as new/ first, so this backup's swap never deletes the last restorable set.
    const [next, old] = [path.join(dir, ATOMIC_NEW), path.join(dir, ATOMIC_OLD)];
    if (!(await io.exists(next)) && (await io.exists(path.join(old, MANIFEST_NAME)))) {
      await io.rename(old, next);
      await io.syncDir(dir);
    }
    await removeTree(io, temp); // a crashed earlier attempt's leftovers
    await io.mkdir(temp, false);
  } catch (e) {
    throw fromFsError(e, `preparing ${temp}`);
  }
  return {
    setDir: temp, created: [],
    async commit(m) {
      await writeFileAtomic(io, temp, MANIFEST_NAME, encodeManifest(m));
      const next = path.join(dir, ATOMIC_NEW);
      const old = path.join(dir, ATOMIC_OLD);
      try {
        // At every instant one complete set is in new/ or old/ (restore looks in that order).
        await removeTree(io, old);
        const hadPrevious = await io.exists(next);
        if (hadPrevious) await io.rename(next, old);
        try {
          await io.rename(temp, next);
        } catch (e) {
          if (hadPrevious) await io.rename(old, next).catch(() => undefined); // put the previous set back
          throw e;
        }
        await io.syncDir(dir);
      } catch (e) {
        throw fromFsError(e, `swapping the new backup into ${dir}`);
      }
      await removeTree(io, old).catch(() => undefined); // the new set is in place; a leftover old/ is harmless
      return next;
    },
    async abort() {
      await removeTree(io, temp).catch(() => undefined);
      await io.syncDir(dir).catch(() => undefined);
      await removeMadeRoot();
    },
  };
}

/** Where the complete set in `dir` is: `dir`/new (atomic), `dir` itself (plain), else `dir`/old (a swap was cut off). */
export async function findSet(io: FileSystem, dir: string): Promise<string | undefined> {
  for (const d of [path.join(dir, ATOMIC_NEW), dir, path.join(dir, ATOMIC_OLD)]) {
    if (await io.exists(path.join(d, MANIFEST_NAME))) return d;
  }
  return undefined;
}

export async function readManifest(io: FileSystem, setDir: string): Promise<Manifest> {
  const file = path.join(setDir, MANIFEST_NAME);
  let buf: Buffer;
  try {
    buf = await io.readFile(file);
  } catch (e) {
    throw fromFsError(e, `reading backup manifest ${file}`);
  }
  const d = decodeManifest(buf);
  if (!d.ok) throw new JetError('JET_errPatchFileMissing', `backup manifest ${file} is unusable: ${d.reason}`);
  return d.manifest;
}

/** An incremental backup: new logs added to the set already in `dir`. */
export async function prepareIncremental(io: FileSystem, dir: string): Promise<{ dest: Destination; manifest: Manifest }> {
  if (!(await isDir(io, dir))) throw new JetError('JET_errInvalidPath', `backup directory ${dir} does not exist`);
  const setDir = await findSet(io, dir);
  if (!setDir) {
    throw new JetError('JET_errMissingFullBackup', `no full backup in ${dir} to add an incremental backup to; take a full backup first`);
  }
  const manifest = await readManifest(io, setDir);
  const created: string[] = [];
  let commitStarted = false;
  return {
    manifest,
    dest: {
      setDir, created,
      async commit(m) {
        commitStarted = true;
        await writeFileAtomic(io, setDir, MANIFEST_NAME, encodeManifest(m));
        return setDir;
      },
      async abort() {
        if (commitStarted) {
          // The new manifest may be in place already: put the old one back before
          // removing the logs it lists; if that fails, the logs stay.
          try {
            await writeFileAtomic(io, setDir, MANIFEST_NAME, encodeManifest(manifest));
          } catch {
            return;
          }
        }
        for (const n of [...created, `${MANIFEST_NAME}.tmp`]) await io.unlink(path.join(setDir, n)).catch(() => undefined);
        await io.syncDir(setDir).catch(() => undefined);
      },
    },
  };
}
