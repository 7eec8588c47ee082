/**
 * Status reporting and pacing for one backup.
 *
 * Status: ESE calls JET_PFNSTATUS with begin and complete only; we also send
 * progress during the page and log copies. One unit is one byte copied, so
 * cunitDone never goes down across phases; cunitTotal starts as an estimate
 * (the log bytes are known only after the roll) and is corrected once.
 * A callback that throws stops the backup: its error is kept and rethrown at
 * the next step (JET_errCallbackFailed unless it threw a JetError).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { JetError } from '../errors.js';
import {
  JET_snpBackup, JET_sntBegin, JET_sntComplete, JET_sntFail, JET_sntProgress, SNPROG_SIZE,
  type BackupPhase, type BackupProgress, type StatusCallback,
} from './options.js';

/** Progress callbacks at most this often (plus phase changes and the end). */
const PROGRESS_INTERVAL_MS = 100;

export class StatusReporter {
  private done = 0;
  private total = 0;
  private lastSent = 0;
  private failure: JetError | null = null;
  pagesDone = 0;
  pagesTotal = 0;
  pagesReread = 0;

  constructor(private readonly cb: StatusCallback | undefined, private readonly snp = JET_snpBackup) {}

  /** The callback's error, once it has thrown. */
  get callbackError(): JetError | null { return this.failure; }

  private call(snt: number, p?: BackupProgress): void {
    if (!this.cb || this.failure) return;
    try {
      this.cb(this.snp, snt, p);
    } catch (e) {
      this.failure = e instanceof JetError ? e
        : new JetError('JET_errCallbackFailed', `the status callback threw: ${(e as Error)?.message ?? String(e)}`, { cause: e });
    }
  }

  /** Throw the callback's error, if it threw. */
  check(): void {
    if (this.failure) throw this.failure;
  }

  begin(totalEstimate: number): void {
    this.total = Math.max(totalEstimate, 1);
    this.call(JET_sntBegin, { cbStruct: SNPROG_SIZE, cunitDone: 0, cunitTotal: this.total });
    this.check();
  }

  setTotal(total: number): void {
    this.total = Math.max(total, this.done, 1);
  }

  /** `bytes` more copied in `phase`; reports when due (or `force`). */
  advance(bytes: number, phase: BackupPhase, file: string | undefined, force = false): void {
    this.done += bytes;
    if (this.done > this.total) this.total = this.done;
    const now = Date.now();
    if (!force && now - this.lastSent < PROGRESS_INTERVAL_MS) return;
    this.lastSent = now;
    this.call(JET_sntProgress, {
      cbStruct: SNPROG_SIZE, cunitDone: this.done, cunitTotal: this.total, phase, file,
      pagesDone: this.pagesDone, pagesTotal: this.pagesTotal, bytesDone: this.done, bytesTotal: this.total, pagesReread: this.pagesReread,
    });
  }

  complete(): void {
    this.total = Math.max(this.done, 1);
    this.call(JET_sntComplete, { cbStruct: SNPROG_SIZE, cunitDone: this.total, cunitTotal: this.total });
  }

  /** Tell the callback the backup failed (never throws). */
  fail(e: JetError): void {
    if (!this.cb) return;
    try {
      this.cb(this.snp, JET_sntFail, { cbStruct: SNPROG_SIZE, cunitDone: this.done, cunitTotal: this.total, err: e.err, errName: e.errName });
    } catch {
      // The backup has failed already; a callback error adds nothing.
    }
  }
}

/**
 * Paces copying to about `bytesPerSec` (0 = unpaced): each take(n) waits until
 * the bytes before it have had their time.
 */
export class RateLimiter {
  private nextFree = 0;

  constructor(private readonly bytesPerSec: number) {}

  /**
   * Wait for `bytes`' turn. `check` runs at least every 100 ms while waiting
   * and may throw to stop (the instance closing must not wait out the pace).
   */
  async take(bytes: number, signal?: AbortSignal, check?: () => void): Promise<void> {
    if (this.bytesPerSec <= 0) return;
    const now = performance.now();
    const start = Math.max(now, this.nextFree);
    this.nextFree = start + (bytes / this.bytesPerSec) * 1000;
    for (let left = start - now; left > 0; left = start - performance.now()) {
      await sleep(Math.min(left, 100), undefined, signal ? { signal } : undefined);
      check?.();
    }
  }
}
