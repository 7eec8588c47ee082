/**
 * The checkpoint: write dirty pages, then move the recovery start forward.
 *
 * Order matters, and is the whole point:
 *  1. note the log tip T (a record boundary: appends never await) and, in the
 *     same synchronous step, snapshot the dirty pages;
 *  2. flush the log to T: write-ahead — no page reaches a database file
 *     before the records that describe it are durable;
 *  3. write the snapshot's images, then fdatasync the files;
 *  4. update each database header (dbtime, page count, lowest generation needed);
 *  5. write <base>.chk = min(T, oldest change still only in memory).
 * A crash anywhere in between leaves the previous checkpoint in force, which
 * is always safe: redo of changes already on disk is skipped by dbtime.
 *
 * CONCURRENCY NOTES: one checkpoint at a time (`running`). Commits go on while
 * it runs: cache images are immutable, so the pages written are the images of
 * step 1's snapshot, and a page changed again meanwhile stays dirty.
 */
import { minLgpos, type Lgpos } from '../format/lgpos.js';
import { writeCheckpointFile } from './checkpoint-file.js';
import type { Database } from './database.js';
import type { LogWriter } from './log-writer.js';
import type { PageCache } from './page-cache.js';
import type { ResolvedParams } from './params.js';

export interface CheckpointHost {
  readonly params: ResolvedParams;
  readonly log: LogWriter | null;
  readonly cache: PageCache;
  readonly logSignature: string;
  databases(): Database[];
  /** Called after <base>.chk moved to `lgpos`. */
  checkpointed(lgpos: Lgpos): Promise<void>;
}

export class Checkpointer {
  private running: Promise<void> | null = null;
  private queued: Promise<void> | null = null;

  constructor(private readonly host: CheckpointHost) {}

  /** Run a checkpoint that covers every commit made before this call. */
  run(): Promise<void> {
    // A running checkpoint may have taken its snapshot before our caller's
    // commits; queue one more after it (callers arriving meanwhile share it).
    if (!this.running) return this.start();
    if (!this.queued) {
      this.queued = this.running.catch(() => undefined).then(() => {
        this.queued = null;
        // Something may have started one in the moment since: join it (it
        // began after our callers), never run two at once.
        return this.running ?? this.start();
      });
    }
    return this.queued;
  }

  /**
   * Back-pressure for a full cache: wait for the running checkpoint (whose
   * writes will clean most of the cache), or run one if none is running.
   */
  relieve(): Promise<void> {
    return this.running ?? this.start();
  }

  /** Start one in the background unless one is running already. */
  nudge(onError: (e: unknown) => void): void {
    if (this.running) return;
    this.start().catch(onError);
  }

  private start(): Promise<void> {
    const p = this.once().finally(() => { if (this.running === p) this.running = null; });
    this.running = p;
    return p;
  }

  private async once(): Promise<void> {
    const { log, cache } = this.host;
    // Tip and snapshot in one synchronous step: every image in the snapshot
    // is described by records before the tip, so flushing to the tip is
    // enough for write-ahead. (A snapshot taken after the flush could hold a
    // commit whose records are not durable yet.)
    const tip = log ? log.tip : null;
    const snapshot = cache.dirtyFrames();
    // Headers get the counters of this moment too: a commit made while we
    // write may never become durable, and its pages must not be counted.
    const dbs = this.host.databases();
    const counters = new Map(dbs.map((db) => [db, { dbtime: db.dbtime, pageCount: db.pageCount }]));
    if (log && tip) await log.flush(tip);
    const byDb = new Map<number, typeof snapshot>();
    for (const s of snapshot) {
      const list = byDb.get(s.frame.dbid) ?? [];
      list.push(s);
      byDb.set(s.frame.dbid, list);
    }
    for (const db of dbs) {
      const list = byDb.get(db.dbid);
      if (!list) continue;
      list.sort((a, b) => a.frame.pgno - b.frame.pgno);
      db.writeEpoch++;
      try {
        await db.file.writePages(list.map((s) => ({ pgno: s.frame.pgno, page: s.page })));
        await db.file.sync();
      } finally {
        db.writeEpoch++;
      }
      for (const s of list) cache.markWritten(s.frame, s.page, tip);
    }
    const oldest = cache.oldestDirty();
    const next = tip ? (oldest ? minLgpos(tip, oldest) : tip) : null;
    for (const db of dbs) {
      const h = db.file.header;
      const { dbtime, pageCount } = counters.get(db)!;
      const genMinRequired = next ? next.gen : h.genMinRequired;
      if (h.dbtime !== dbtime || h.pageCount !== pageCount || h.genMinRequired !== genMinRequired) {
        await db.file.updateHeader((now) => ({ ...now, dbtime, pageCount, genMinRequired }));
      }
    }
    if (next) {
      const p = this.host.params;
      await writeCheckpointFile(p.io, p.systemPath, p.baseName, { lgpos: next, logSignature: this.host.logSignature, time: Date.now() });
      await this.host.checkpointed(next);
    }
  }
}
