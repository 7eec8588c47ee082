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
 * Eviction drops the least recently used clean pages once the cache holds more
 * than `capacity` pages. Dirty pages are never evicted; the instance runs a
 * checkpoint when too many pile up.
 */
import type { Lgpos } from '../format/lgpos.js';

export interface Frame {
  readonly dbid: number;
  readonly pgno: number;
  /** The committed image. Never mutated. */
  page: Buffer;
  /** False for a page that has never been written (all zeros). */
  initialized: boolean;
  /** Position of the BEGIN of the first transaction that dirtied it since it was last written, or null when clean. */
  firstDirty: Lgpos | null;
}

export function frameKey(dbid: number, pgno: number): number {
  // dbid < 2^16 and pgno < 2^32: the key stays an exact integer below 2^53.
  return dbid * 0x1_0000_0000 + pgno;
}

export class PageCache {
  // Map iteration order is insertion order; touching a frame re-inserts it,
  // so the first entries are the least recently used.
  private readonly frames = new Map<number, Frame>();
  private dirty = 0;

  constructor(private readonly capacity: number) {}

  get size(): number { return this.frames.size; }
  get dirtyCount(): number { return this.dirty; }

  get(dbid: number, pgno: number): Frame | undefined {
    const k = frameKey(dbid, pgno);
    const f = this.frames.get(k);
    if (f) {
      this.frames.delete(k);
      this.frames.set(k, f);
    }
    return f;
  }

  /**
   * Add a page just read from disk. A read races with commits: if a commit
   * installed the page while the read was in flight, the cached image is newer
   * and wins.
   */
  addClean(dbid: number, pgno: number, page: Buffer, initialized: boolean): Frame {
    const existing = this.frames.get(frameKey(dbid, pgno));
    if (existing) return existing;
    const f: Frame = { dbid, pgno, page, initialized, firstDirty: null };
    this.frames.set(frameKey(dbid, pgno), f);
    this.evict();
    return f;
  }

  /** Install a committed image. `begin` is where its transaction's records start. */
  install(dbid: number, pgno: number, page: Buffer, begin: Lgpos): void {
    const k = frameKey(dbid, pgno);
    const f = this.frames.get(k);
    if (f) {
      this.frames.delete(k);
      f.page = page;
      f.initialized = true;
      if (f.firstDirty === null) {
        f.firstDirty = begin;
        this.dirty++;
      }
      this.frames.set(k, f);
    } else {
      this.frames.set(k, { dbid, pgno, page, initialized: true, firstDirty: begin });
      this.dirty++;
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
  oldestDirty(cmp: (a: Lgpos, b: Lgpos) => number): Lgpos | null {
    let oldest: Lgpos | null = null;
    for (const f of this.frames.values()) {
      if (f.firstDirty !== null && (oldest === null || cmp(f.firstDirty, oldest) < 0)) oldest = f.firstDirty;
    }
    return oldest;
  }

  /** Forget every page of a database (used when it is closed). Its pages must be clean. */
  dropDatabase(dbid: number): void {
    for (const [k, f] of this.frames) {
      if (f.dbid === dbid) {
        if (f.firstDirty !== null) this.dirty--;
        this.frames.delete(k);
      }
    }
  }

  private evict(): void {
    if (this.frames.size <= this.capacity) return;
    for (const [k, f] of this.frames) {
      if (this.frames.size <= this.capacity) break;
      if (f.firstDirty === null) this.frames.delete(k);
    }
  }
}
