/**
 * The page phase of a full backup: every database file, range by range, on
 * the worker pool.
 *
 * CONCURRENCY NOTES
 * - This is the only place backup work runs in parallel. Ranges go to the
 *   pool through p-limit with at most 2 x workers in flight, so memory is
 *   bounded by (2 x workers x rangePages x pageSize) whatever the database
 *   size, and the workers never wait for the next task.
 * - Workers share nothing with us or each other: each gets its (file, range)
 *   and opens its own handles. Destination files are pre-sized here first, so
 *   workers write disjoint byte ranges of existing files.
 * - The first failure stops dispatch: ranges not yet started are skipped,
 *   ranges in flight are left to finish (or are aborted with the signal), and
 *   the first error is the one reported.
 * - Between ranges the instance state is checked, so a close() or stopService
 *   during a long copy ends the backup promptly with the state's error.
 */
import * as path from 'node:path';
import pLimit from 'p-limit';
import { JetError, fromFsError } from '../errors.js';
import { pageOffset } from '../format/page.js';
import type { FileSystem } from '../io/file-system.js';
import type { CopyRangeResult } from './messages.js';
import { planRanges } from './plan.js';
import type { BackupPool } from './pool.js';
import type { RateLimiter, StatusReporter } from './progress.js';

/**
 * fdatasync a copy (from here, in the background) after about this many bytes
 * were written to it since the last time: dirty data stays bounded and the
 * disk writes while the workers go on copying, instead of all at the end.
 */
export const SYNC_EVERY_BYTES = 64 * 1024 * 1024;

export interface SourceDatabase {
  name: string;
  /** Absolute path of the live file. */
  src: string;
  pageSize: number;
  /** Data pages to copy (1..pages). */
  pages: number;
}

export interface CopiedDatabase {
  name: string;
  /** Path of the copy. */
  dst: string;
  pages: number;
  bytes: number;
  rangeCrcs: number[];
}

export interface PageCopyContext {
  io: FileSystem;
  pool: BackupPool;
  rangePages: number;
  retries: number;
  retryDelayMs: number;
  signal: AbortSignal | undefined;
  status: StatusReporter;
  rate: RateLimiter;
  /** Throws when the instance can no longer be backed up (closing, stopped, failed). */
  assertUsable: () => void;
  /** Called for each database file created in the destination, before anything is written into it. */
  created: (name: string) => void;
}

export interface PageCopyTotals {
  pagesVerified: number;
  pagesUninitialized: number;
  pagesReread: number;
  bytes: number;
}

function toJetError(e: unknown, what: string, signal: AbortSignal | undefined): JetError {
  // throwIfAborted throws the caller's reason, whatever it is: the signal says what happened.
  if (signal?.aborted || (e as Error)?.name === 'AbortError') return new JetError('errBackupAbortByCaller', `${what}: aborted`, { cause: e });
  return fromFsError(e, what);
}

/** Pre-size each copy (header pages + data pages) so workers can write at any offset. */
async function createCopies(ctx: PageCopyContext, dbs: SourceDatabase[], dir: string): Promise<void> {
  for (const db of dbs) {
    const dst = path.join(dir, db.name);
    try {
      const sub = path.dirname(db.name);
      if (sub !== '.' && !(await ctx.io.exists(path.join(dir, sub)))) {
        await ctx.io.mkdir(path.join(dir, sub), true);
        ctx.created(`${sub.split('/')[0]!}/`); // a directory: removed after the files in it
      }
      ctx.created(db.name);
      const fh = await ctx.io.open(dst, 'wx');
      try {
        await fh.truncate(pageOffset(db.pages + 1, db.pageSize));
      } finally {
        await fh.close();
      }
    } catch (e) {
      throw fromFsError(e, `creating backup copy ${dst}`);
    }
  }
}

async function syncFile(io: FileSystem, file: string): Promise<void> {
  const fh = await io.open(file, 'r+');
  try {
    await fh.datasync();
  } finally {
    await fh.close();
  }
}

export async function copyDatabasePages(ctx: PageCopyContext, dbs: SourceDatabase[], dir: string): Promise<{ copies: CopiedDatabase[]; totals: PageCopyTotals }> {
  await createCopies(ctx, dbs, dir);
  const ranges = planRanges(dbs.map((d) => ({ name: d.name, pageCount: d.pages })), ctx.rangePages);
  const crcs = dbs.map((d) => new Array<number>(Math.ceil(d.pages / ctx.rangePages)).fill(0));
  const totals: PageCopyTotals = { pagesVerified: 0, pagesUninitialized: 0, pagesReread: 0, bytes: 0 };
  ctx.status.pagesTotal = dbs.reduce((n, d) => n + d.pages, 0);
  const limit = pLimit(2 * ctx.pool.workers);
  let failure: JetError | null = null;
  const unsynced = dbs.map(() => 0);
  const syncing: (Promise<void> | undefined)[] = dbs.map(() => undefined);
  const syncInBackground = (i: number) => {
    if (syncing[i]) return; // one at a time per file; the next one covers what this one misses
    unsynced[i] = 0;
    syncing[i] = syncFile(ctx.io, path.join(dir, dbs[i]!.name)).finally(() => { syncing[i] = undefined; });
    syncing[i]!.catch((e) => { failure ??= fromFsError(e, `syncing backup copy of ${dbs[i]!.name}`); });
  };

  const runOne = async (r: (typeof ranges)[number]): Promise<void> => {
    if (failure) return;
    const db = dbs[r.file]!;
    try {
      ctx.signal?.throwIfAborted();
      ctx.assertUsable();
      ctx.status.check();
      await ctx.rate.take(r.pageCount * db.pageSize, ctx.signal, () => {
        ctx.assertUsable();
        if (failure) throw failure;
      });
      if (failure) return;
      ctx.assertUsable();
      const res: CopyRangeResult = await ctx.pool.copyRange({
        src: db.src, dst: path.join(dir, db.name), pageSize: db.pageSize, firstPage: r.firstPage, pageCount: r.pageCount,
        retries: ctx.retries, retryDelayMs: ctx.retryDelayMs,
      }, ctx.signal);
      if (res.error) throw new JetError(res.error.errName, res.error.message);
      crcs[r.file]![(r.firstPage - 1) / ctx.rangePages] = res.crc;
      unsynced[r.file]! += res.bytes;
      if (unsynced[r.file]! >= SYNC_EVERY_BYTES) syncInBackground(r.file);
      totals.pagesVerified += res.pagesVerified;
      totals.pagesUninitialized += res.pagesUninitialized;
      totals.pagesReread += res.pagesReread;
      totals.bytes += res.bytes;
      ctx.status.pagesDone += r.pageCount;
      ctx.status.pagesReread = totals.pagesReread;
      ctx.status.advance(res.bytes, 'pages', db.name);
    } catch (e) {
      failure ??= toJetError(e, `backing up pages ${r.firstPage}..${r.firstPage + r.pageCount - 1} of ${db.src}`, ctx.signal);
    }
  };

  await Promise.all(ranges.map((r) => limit(() => runOne(r))));
  await Promise.all(syncing.map((s) => s?.catch(() => undefined)));
  if (failure) throw failure;
  ctx.status.check();
  const copies = dbs.map((d, i) => ({
    name: d.name, dst: path.join(dir, d.name), pages: d.pages, bytes: pageOffset(d.pages + 1, d.pageSize), rangeCrcs: crcs[i]!,
  }));
  return { copies, totals };
}
