/**
 * Appends records to the log and makes them durable, with group commit.
 *
 * CONCURRENCY NOTES
 * - `append` is synchronous: it assigns every record its LGPOS (rolling to a
 *   new generation when the current one is full) and queues the bytes. Because
 *   it never awaits, a caller's records are contiguous in the log, and the tip
 *   read between two appends is always a record boundary.
 * - One flush loop at a time (`flushing`) writes queued bytes, rolls files and
 *   fdatasyncs. Everyone who appended while a sync was running shares the
 *   next one: that is the group commit.
 * - The first write failure is sticky (`failure`): every waiter and every later
 *   call fails with JET_errLogWriteFail, and `onFatal` tells the instance,
 *   which becomes unavailable. Nothing is retried; a log with a hole in it
 *   must not be appended to.
 */
import { JetError, fromFsError } from '../errors.js';
import type { AttachEntry, LogHeader } from '../format/log-header.js';
import { LOG_HEADER_BLOCK } from '../format/log-header.js';
import { MAX_GENERATION } from '../format/log-names.js';
import { frameRecordInto, recordSize, REC_ROLL, ROLL_RECORD_SIZE, encodeU32 } from '../format/log-record.js';
import { cmpLgpos, type Lgpos } from '../format/lgpos.js';
import type { FileHandle } from '../io/file-system.js';
import { installGeneration, prepareGeneration, type LogDir } from './log-files.js';

export interface RecordToAppend {
  type: number;
  payload: Uint8Array;
}

interface Chunk {
  gen: number;
  off: number;
  bytes: Buffer;
  /** True for the ROLL record that ends generation `gen`. */
  roll: boolean;
}

export interface LogWriterOptions {
  dir: LogDir;
  logFileSize: number;
  pageSize: number;
  logSignature: string;
  /** The current generation, already open as <base>.log. */
  gen: number;
  file: FileHandle;
  /** Where the next record goes in it. */
  off: number;
  /** The size of the current generation's file (new generations get logFileSize). */
  currentFileSize: number;
  timeCreate: number;
  /** The databases attached right now, for the next generation's header. */
  attached: () => AttachEntry[];
  /** Called once after each generation is finished and renamed. */
  onRolled: (finishedGen: number) => void;
  /** Called once with the first write failure. */
  onFatal: (e: JetError) => void;
  lazyFlushDelayMs: number;
}

export class LogWriter {
  private readonly o: LogWriterOptions;
  // --- assigned synchronously by append ---
  private tipGen: number;
  private tipOff: number;
  private tipTimeCreate: number;
  /** Size of the generation `tipGen`'s file. */
  private tipFileSize: number;
  private queue: Chunk[] = [];
  private queuedBytes = 0;
  /** Headers of generations that append started but the flush loop has not created yet. */
  private readonly pendingHeaders = new Map<number, LogHeader>();
  // --- owned by the flush loop ---
  private fileGen: number;
  private file: FileHandle;
  private durableLgpos: Lgpos;
  /** Everything before this position is written; durable after the loop's next sync. */
  private writtenLgpos: Lgpos;
  private flushing: Promise<void> | null = null;
  private waiters: { at: Lgpos; resolve: () => void; reject: (e: unknown) => void }[] = [];
  private failure: JetError | null = null;
  private lazyTimer: NodeJS.Timeout | null = null;

  constructor(o: LogWriterOptions) {
    this.o = o;
    this.tipGen = this.fileGen = o.gen;
    this.tipOff = o.off;
    this.tipTimeCreate = o.timeCreate;
    this.tipFileSize = o.currentFileSize;
    this.file = o.file;
    this.durableLgpos = { gen: o.gen, off: o.off };
    this.writtenLgpos = this.durableLgpos;
  }

  /** The position the next record will get. */
  get tip(): Lgpos { return { gen: this.tipGen, off: this.tipOff }; }
  /** Everything before this position is on disk and synced. */
  get durable(): Lgpos { return this.durableLgpos; }
  get currentGeneration(): number { return this.tipGen; }
  /** Bytes appended but not yet written. */
  get backlog(): number { return this.queuedBytes; }
  get failed(): JetError | null { return this.failure; }

  /**
   * Queue records, contiguous in the log. Returns the position after the last
   * one: the caller's records are durable once `durable` reaches it.
   */
  append(records: RecordToAppend[]): Lgpos {
    if (this.failure) throw this.failure;
    for (const r of records) {
      const size = recordSize(r.payload.length);
      if (LOG_HEADER_BLOCK + size + ROLL_RECORD_SIZE > this.o.logFileSize) {
        throw new JetError('JET_errInvalidParameter', `a ${size}-byte log record does not fit a ${this.o.logFileSize}-byte log file`);
      }
      if (this.tipOff + size + ROLL_RECORD_SIZE > this.tipFileSize) this.appendRoll();
      const bytes = Buffer.allocUnsafe(size);
      frameRecordInto(bytes, 0, this.tipGen, r.type, r.payload);
      this.queue.push({ gen: this.tipGen, off: this.tipOff, bytes, roll: false });
      this.tipOff += size;
      this.queuedBytes += size;
    }
    return this.tip;
  }

  /** End the current generation now (the backup needs this). Returns the finished generation. */
  async roll(): Promise<number> {
    if (this.failure) throw this.failure;
    const finished = this.tipGen;
    this.appendRoll();
    await this.flush(this.tip);
    return finished;
  }

  private appendRoll(): void {
    if (this.tipGen >= MAX_GENERATION) throw new JetError('JET_errLogSequenceEnd', `log generation ${this.tipGen} is the last one`);
    const bytes = Buffer.allocUnsafe(ROLL_RECORD_SIZE);
    frameRecordInto(bytes, 0, this.tipGen, REC_ROLL, encodeU32(this.tipGen + 1));
    this.queue.push({ gen: this.tipGen, off: this.tipOff, bytes, roll: true });
    this.queuedBytes += ROLL_RECORD_SIZE;
    // Each generation's creation time is unique and increasing, so that
    // timePrevGen identifies exactly one predecessor.
    const timeCreate = Math.max(Date.now(), this.tipTimeCreate + 1);
    const next = this.tipGen + 1;
    this.pendingHeaders.set(next, {
      generation: next, logFileSize: this.o.logFileSize, pageSize: this.o.pageSize, timeCreate,
      timePrevGen: this.tipTimeCreate, logSignature: this.o.logSignature, attached: this.o.attached(),
    });
    this.tipGen = next;
    this.tipOff = LOG_HEADER_BLOCK;
    this.tipFileSize = this.o.logFileSize;
    this.tipTimeCreate = timeCreate;
  }

  /** Resolves once everything before `upTo` (default: the tip) is durable. */
  flush(upTo: Lgpos = this.tip): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    if (cmpLgpos(this.durableLgpos, upTo) >= 0) return Promise.resolve();
    const p = new Promise<void>((resolve, reject) => this.waiters.push({ at: upTo, resolve, reject }));
    this.kick();
    return p;
  }

  /** Write lazily committed records soon, without anyone waiting. */
  scheduleLazyFlush(): void {
    if (this.lazyTimer || this.failure) return;
    this.lazyTimer = setTimeout(() => {
      this.lazyTimer = null;
      this.kick();
    }, this.o.lazyFlushDelayMs);
  }

  private kick(): void {
    if (this.flushing) return;
    this.flushing = this.flushLoop().finally(() => { this.flushing = null; });
  }

  /**
   * Write what is queued and fdatasync it, until the queue is empty. Lazy
   * commits are synced too, a few milliseconds late, so "lazy" means "durable
   * soon", not "durable whenever the OS gets to it".
   */
  private async flushLoop(): Promise<void> {
    while (this.queue.length > 0 && !this.failure) {
      const batch = this.queue;
      this.queue = [];
      try {
        await this.writeBatch(batch);
        await this.file.datasync();
      } catch (e) {
        this.fail(e);
        return;
      }
      for (const c of batch) this.queuedBytes -= c.bytes.length;
      this.durableLgpos = this.writtenLgpos;
      const still: typeof this.waiters = [];
      for (const w of this.waiters) (cmpLgpos(w.at, this.durableLgpos) <= 0 ? w.resolve() : still.push(w));
      this.waiters = still;
    }
  }

  /** Write chunks in order, one pwrite per run of adjacent chunks, rolling files between generations. */
  private async writeBatch(batch: Chunk[]): Promise<void> {
    let i = 0;
    while (i < batch.length) {
      const gen = batch[i]!.gen;
      let j = i;
      while (j < batch.length && batch[j]!.gen === gen) j++;
      if (gen !== this.fileGen) await this.startGeneration(gen);
      const run = batch.slice(i, j);
      const bytes = run.length === 1 ? run[0]!.bytes : Buffer.concat(run.map((c) => c.bytes));
      await this.file.write(bytes, 0, bytes.length, run[0]!.off);
      this.writtenLgpos = { gen, off: run[0]!.off + bytes.length };
      i = j;
    }
    // A batch that ends with a ROLL record has no chunk of the next
    // generation to trigger the switch; make it here so roll() can return.
    // (Not merely when the next header exists: the ROLL may have been appended
    // after this batch was taken, and then it is not written yet.)
    const last = batch[batch.length - 1]!;
    if (last.roll && last.gen === this.fileGen) await this.startGeneration(this.fileGen + 1);
  }

  /** The current file ends with its ROLL record: sync it, then switch files. */
  private async startGeneration(gen: number): Promise<void> {
    const header = this.pendingHeaders.get(gen);
    if (!header || gen !== this.fileGen + 1) throw new Error(`log writer: no header for generation ${gen}`);
    await this.file.datasync();
    const next = await prepareGeneration(this.o.dir, header);
    const finished = this.fileGen;
    await this.file.close();
    this.file = next;
    await installGeneration(this.o.dir, finished);
    this.fileGen = gen;
    this.writtenLgpos = { gen, off: LOG_HEADER_BLOCK };
    this.pendingHeaders.delete(gen);
    this.o.onRolled(finished);
  }

  private fail(e: unknown): void {
    const cause = fromFsError(e, `writing log generation ${this.fileGen}`);
    this.failure = new JetError('JET_errLogWriteFail', `log write failed: ${cause.message}`, { cause });
    for (const w of this.waiters) w.reject(this.failure);
    this.waiters = [];
    this.o.onFatal(this.failure);
  }

  /** Flush everything and close the current file. */
  async close(): Promise<void> {
    if (this.lazyTimer) clearTimeout(this.lazyTimer);
    this.lazyTimer = null;
    if (!this.failure && this.queue.length > 0) await this.flush().catch(() => undefined);
    if (this.flushing) await this.flushing;
    await this.file.close().catch(() => undefined);
  }
}
