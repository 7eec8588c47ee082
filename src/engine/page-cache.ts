/**
 * The buffer cache: committed page images, keyed by (dbid, pgno), with dirty
 * tracking for the checkpoint.
 *
 * No-steal: only committed images enter the cache (transactions keep their
 * changes in private copies until commit), so nothing uncommitted can ever be
 * written to a database file.
 *
 * Images in the cache are immutable: a commit installs a new Buffer rather
 * than changing the old one, so a checkpoint can write an image while the
 * next transaction commits over it, and then see (by identity) whether the
 * page was changed again meanwhile.
 *
 * Eviction drops clean pages once the cache holds more than `capacity`
 * pages, oldest first but giving a page used since the last scan a second
 * chance (CLOCK): a hit only sets a flag, it does not reorder anything. Dirty
 * pages are never evicted; the instance runs a checkpoint when too many pile up.
 *
 * Snapshots (for readers that walk several pages while commits go on): every
 * commit gets a sequence number, and a reader reads as of the sequence number
 * current when it began. While any snapshot is open, a commit that replaces
 * an image keeps the old one in the frame's `older` list, and such frames are
 * not evicted; closing the last snapshot that needs an old image drops it.
 * An image read from disk is as old as every open snapshot needs: a page
 * changed after a snapshot began keeps its old image in memory until then.
 */
import { cmpLgpos, type Lgpos } from '../format/lgpos.js';

export interface Image {
  /** Never mutated. */
  page: Buffer;
  /** False for a page that has never been written (all zeros). */
  initialized: boolean;
  /** The commit that made this image; 0 when older than every open snapshot. */
  seq: number;
}

export interface Frame extends Image {
  readonly dbid: number;
  readonly pgno: number;
  /** Images this one replaced that open snapshots may still read, oldest first. */
  older: Image[] | null;
  /** Used since the eviction scan last passed it (second-chance eviction). */
  referenced: boolean;
  /** Position of the BEGIN of the first transaction that dirtied it since it was last written, or null when clean. */
  firstDirty: Lgpos | null;
}

export function frameKey(dbid: number, pgno: number): number {
  // dbid < 2^16 and pgno < 2^32: the key stays an exact integer below 2^53.
  return dbid * 0x1_0000_0000 + pgno;
}

export class PageCache {
  // Map iteration order is insertion order: the eviction scan starts at the
  // oldest and re-inserts (moves to the back) a frame it gives a second chance.
  private readonly frames = new Map<number, Frame>();
  private dirty = 0;
  /** The last commit installed. */
  private seq = 0;
  /** Open snapshots: sequence number -> how many. */
  private readonly snapshots = new Map<number, number>();
  private readonly framesWithOlder = new Set<Frame>();

  constructor(private readonly capacity: number) {}

  get size(): number { return this.frames.size; }
  get dirtyCount(): number { return this.dirty; }
  get commitSeq(): number { return this.seq; }

  /** The sequence number the next commit installs its images under. */
  nextCommitSeq(): number { return ++this.seq; }

  /** Read as of now until the returned function is called. */
  openSnapshot(): { seq: number; close: () => void } {
    const seq = this.seq;
    this.snapshots.set(seq, (this.snapshots.get(seq) ?? 0) + 1);
    let open = true;
    return {
      seq,
      close: () => {
        if (!open) return;
        open = false;
        const n = this.snapshots.get(seq)! - 1;
        if (n === 0) this.snapshots.delete(seq);
        else this.snapshots.set(seq, n);
        this.prune();
      },
    };
  }

  get(dbid: number, pgno: number): Frame | undefined {
    const f = this.frames.get(frameKey(dbid, pgno));
    if (f) f.referenced = true;
    return f;
  }

  /** The image of `frame` a reader at snapshot `seq` sees. */
  static imageAt(frame: Frame, seq: number): Image {
    if (frame.seq <= seq) return frame;
    for (let i = (frame.older?.length ?? 0) - 1; i >= 0; i--) if (frame.older![i]!.seq <= seq) return frame.older![i]!;
    throw new Error(`page cache: no image of page ${frame.pgno} for snapshot ${seq}`);
  }

  /**
   * Add a page just read from disk. A read races with commits: if a commit
   * installed the page while the read was in flight, the cached frame is newer
   * and wins.
   */
  addClean(dbid: number, pgno: number, page: Buffer, initialized: boolean): Frame {
    const existing = this.frames.get(frameKey(dbid, pgno));
    if (existing) return existing;
    const f: Frame = { dbid, pgno, page, initialized, seq: 0, older: null, referenced: false, firstDirty: null };
    this.frames.set(frameKey(dbid, pgno), f);
    this.evict();
    return f;
  }

  /**
   * Install a committed image made by commit `seq`, whose transaction's
   * records start at `begin`. `base` is the image the transaction started
   * from, kept for open snapshots when the frame is not cached.
   */
  install(dbid: number, pgno: number, page: Buffer, begin: Lgpos, seq: number, base: Image): void {
    const k = frameKey(dbid, pgno);
    let f = this.frames.get(k);
    if (f) {
      f.referenced = true;
      if (this.newestSnapshot() >= f.seq) this.keepOlder(f, { page: f.page, initialized: f.initialized, seq: f.seq });
      if (f.firstDirty === null) {
        f.firstDirty = begin;
        this.dirty++;
      }
    } else {
      f = { dbid, pgno, page, initialized: true, seq, older: null, referenced: false, firstDirty: begin };
      this.frames.set(k, f);
      this.dirty++;
      if (this.snapshots.size > 0) this.keepOlder(f, { page: base.page, initialized: base.initialized, seq: 0 });
    }
    f.page = page;
    f.initialized = true;
    f.seq = seq;
    this.evict();
  }

  private newestSnapshot(): number {
    let newest = -1;
    for (const s of this.snapshots.keys()) newest = Math.max(newest, s);
    return newest;
  }

  private keepOlder(f: Frame, image: Image): void {
    (f.older ??= []).push(image);
    this.framesWithOlder.add(f);
  }

  /** Drop old images no open snapshot can read any more. */
  private prune(): void {
    let oldest = Infinity;
    for (const s of this.snapshots.keys()) oldest = Math.min(oldest, s);
    for (const f of this.framesWithOlder) {
      const older = f.older!;
      // The image the oldest snapshot reads; everything before it is unreachable.
      let keepFrom = older.length;
      if (f.seq > oldest) {
        keepFrom = older.length - 1;
        while (keepFrom > 0 && older[keepFrom]!.seq > oldest) keepFrom--;
      }
      older.splice(0, keepFrom);
      if (older.length === 0) {
        f.older = null;
        this.framesWithOlder.delete(f);
      }
    }
    this.evict();
  }

  /** A snapshot of the dirty frames and the images they hold now. */
  dirtyFrames(): { frame: Frame; page: Buffer }[] {
    const out: { frame: Frame; page: Buffer }[] = [];
    for (const f of this.frames.values()) if (f.firstDirty !== null) out.push({ frame: f, page: f.page });
    return out;
  }

  /** The image `page` of `frame` is on disk: clean, unless a newer image replaced it meanwhile. */
  markWritten(frame: Frame, page: Buffer, rewrittenFrom: Lgpos | null): void {
    if (frame.firstDirty === null) return;
    if (frame.page === page) {
      frame.firstDirty = null;
      this.dirty--;
    } else if (rewrittenFrom !== null) {
      // Re-dirtied during the write: recovery now only needs the newer changes.
      frame.firstDirty = rewrittenFrom;
    }
  }

  /** The oldest firstDirty among dirty frames, or null when all are clean. */
  oldestDirty(): Lgpos | null {
    let oldest: Lgpos | null = null;
    for (const f of this.frames.values()) {
      if (f.firstDirty !== null && (oldest === null || cmpLgpos(f.firstDirty, oldest) < 0)) oldest = f.firstDirty;
    }
    return oldest;
  }

  private evict(): void {
    let budget = this.frames.size; // one pass at most: dirty and pinned frames cannot go
    for (const [k, f] of this.frames) {
      if (this.frames.size <= this.capacity || budget-- <= 0) break;
      if (f.firstDirty !== null || f.older !== null) continue;
      this.frames.delete(k);
      if (f.referenced) {
        f.referenced = false;
        this.frames.set(k, f); // second chance: to the back of the line
      }
    }
  }
}
