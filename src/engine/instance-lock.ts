/**
 * One process owns an instance directory.
 *
 * The owner holds `<dir>/instance.lock`, created with O_EXCL and holding
 * {pid, processStart, host, time} as JSON. A second opener reads it:
 *  - held by a live process (or by this process): JET_errFileAccessDenied naming the holder;
 *  - held by a dead process (no such pid, or the pid was reused by a process
 *    that started later): the lock is stale and is taken over.
 *
 *  - unreadable (empty or half-written JSON) for UNREADABLE_GRACE_MS: its
 *    writer was killed between creating and writing it (a live writer
 *    finishes that one small write at once): stale.
 *
 * Limits: the check of "alive" is local (a lock written on another host is
 * treated as live and must be removed by hand); two openers racing for the
 * same stale lock in the same instant can both succeed — the window is the
 * gap between re-reading the stale lock and unlinking it.
 */
import * as os from 'node:os';
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { JetError, fromFsError } from '../errors.js';
import type { FileSystem } from '../io/file-system.js';

export const LOCK_NAME = 'instance.lock';
/** How long a lock file may stay unreadable before it is taken for one a killed process left half-written. */
const UNREADABLE_GRACE_MS = 500;

interface LockInfo {
  pid: number;
  processStart: string | null;
  host: string;
  time: string;
}

/** Directories this process holds; a same-process second open is refused too. */
const heldHere = new Set<string>();

/** Linux: start time of a process in clock ticks since boot (field 22 of /proc/PID/stat). */
function processStart(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] ?? null;
  } catch {
    return null;
  }
}

function isAlive(info: LockInfo): boolean {
  if (info.host !== os.hostname()) return true;
  try {
    process.kill(info.pid, 0);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ESRCH') return false;
  }
  const now = processStart(info.pid);
  return info.processStart === null || now === null || now === info.processStart;
}

function describe(info: LockInfo | undefined): string {
  if (!info) return 'another process (unreadable lock file)';
  const who = info.pid === process.pid ? 'this process' : `process ${info.pid}`;
  return `${who} on ${info.host} since ${info.time}`;
}

/** Read and parse the lock; an unreadable one is re-read for UNREADABLE_GRACE_MS in case its writer is mid-write. */
async function readLock(fs: FileSystem, path: string): Promise<{ raw: Buffer; info: LockInfo | undefined; unreadableForGrace: boolean } | undefined> {
  const parse = (raw: Buffer): LockInfo | undefined => {
    try { return JSON.parse(raw.toString('utf8')) as LockInfo; } catch { return undefined; }
  };
  const started = Date.now();
  for (;;) {
    const raw = await fs.readFile(path).catch(() => undefined);
    if (raw === undefined) return undefined;
    const info = parse(raw);
    if (info !== undefined) return { raw, info, unreadableForGrace: false };
    if (Date.now() - started >= UNREADABLE_GRACE_MS) return { raw, info, unreadableForGrace: true };
    await sleep(50);
  }
}

/**
 * Read-only: who holds the lock of `dir`, and whether that process is alive
 * (the same test acquire() makes); undefined when there is no lock file. For
 * tools (the CLI) that must decide how to reach an instance without taking it.
 */
export async function lockHolder(fs: FileSystem, dir: string): Promise<{ pid: number | null; host: string | null; time: string | null; live: boolean } | undefined> {
  const read = await readLock(fs, `${dir}/${LOCK_NAME}`);
  if (read === undefined) return undefined;
  const { info } = read;
  if (info === undefined) return { pid: null, host: null, time: null, live: !read.unreadableForGrace };
  const live = info.pid === process.pid ? heldHere.has(dir) : isAlive(info);
  return { pid: info.pid, host: info.host, time: info.time, live };
}

export class InstanceLock {
  private constructor(private readonly fs: FileSystem, private readonly dir: string, private readonly path: string) {}

  static async acquire(fs: FileSystem, dir: string): Promise<InstanceLock> {
    const path = `${dir}/${LOCK_NAME}`;
    if (heldHere.has(dir)) {
      throw new JetError('JET_errFileAccessDenied', `instance ${dir} is already open (or being opened) in this process (pid ${process.pid})`);
    }
    // Reserved before the first await: a second open in this process refuses at once
    // instead of taking our lock for a stale one of our own pid.
    heldHere.add(dir);
    try {
      return await InstanceLock.take(fs, dir, path);
    } catch (e) {
      heldHere.delete(dir);
      throw e;
    }
  }

  private static async take(fs: FileSystem, dir: string, path: string): Promise<InstanceLock> {
    const mine: LockInfo = { pid: process.pid, processStart: processStart(process.pid), host: os.hostname(), time: new Date().toISOString() };
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        const fh = await fs.open(path, 'wx');
        const data = Buffer.from(JSON.stringify(mine) + '\n');
        try { await fh.write(data, 0, data.length, 0); } finally { await fh.close(); }
        return new InstanceLock(fs, dir, path);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw fromFsError(e, `creating lock ${path}`);
      }
      const read = await readLock(fs, path);
      if (read === undefined) continue; // vanished between our create and read: try again
      const { raw, info } = read;
      // A lock with our own pid that this process does not hold was left by an
      // earlier failed open in this process: stale.
      const stale = info === undefined ? read.unreadableForGrace
        : info.pid === process.pid || !isAlive(info);
      if (!stale) {
        throw new JetError('JET_errFileAccessDenied', `instance ${dir} is held by ${describe(info)} (lock ${path})`);
      }
      const again = await fs.readFile(path).catch(() => undefined);
      if (again !== undefined && again.equals(raw)) await fs.unlink(path).catch(() => undefined);
    }
    throw new JetError('JET_errFileAccessDenied', `instance ${dir}: could not take the lock ${path}`);
  }

  async release(): Promise<void> {
    heldHere.delete(this.dir);
    await this.fs.unlink(this.path).catch(() => undefined);
  }
}
