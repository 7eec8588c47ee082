/**
 * The worker pool backups run their page copies on (workers/copy-range) and
 * verification its page checks (workers/verify-range): one Piscina pool
 * running either module per task. One pool can serve many backups at once (the bulk CLI
 * shares one); a backup given no pool makes its own and closes it.
 *
 * The worker module is TypeScript under tsx (tests) and compiled JavaScript
 * under dist/ (npm start, the CLI): it sits at the same place relative to
 * this file in both layouts, with this file's own extension.
 */
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Piscina } from 'piscina';
import { JetError } from '../errors.js';
import type { CopyRangeResult, CopyRangeTask, VerifyRangeResult, VerifyRangeTask } from './messages.js';

const here = import.meta.url;
const workerFile = (name: string) => fileURLToPath(new URL(`../../workers/${name}${here.endsWith('.ts') ? '.ts' : '.js'}`, here));
const COPY_WORKER = workerFile('copy-range');
const VERIFY_WORKER = workerFile('verify-range');

export interface PoolOptions {
  /** Worker threads (default: 2, at most the machine's parallelism x 2). */
  workers?: number;
}

export class BackupPool {
  private readonly piscina: Piscina<CopyRangeTask | VerifyRangeTask, CopyRangeResult | VerifyRangeResult>;
  private closed = false;

  constructor(options: PoolOptions = {}) {
    const workers = options.workers ?? Math.min(2, availableParallelism());
    if (!Number.isInteger(workers) || workers < 1 || workers > 256) {
      throw new JetError('JET_errInvalidParameter', `workers must be an integer from 1 to 256, got ${String(workers)}`);
    }
    this.piscina = new Piscina({
      filename: COPY_WORKER, minThreads: workers, maxThreads: workers,
      // Workers pass tsx's --import on when the tests run from source.
      execArgv: process.execArgv,
    });
  }

  get workers(): number { return this.piscina.maxThreads; }

  /** Run one range copy on a worker. Rejects only on abort or a dead worker; copy failures are in the result. */
  async copyRange(task: CopyRangeTask, signal?: AbortSignal): Promise<CopyRangeResult> {
    if (this.closed) throw new JetError('JET_errInvalidParameter', 'the backup pool is closed');
    return this.piscina.run(task, { filename: COPY_WORKER, ...(signal ? { signal } : {}) }) as Promise<CopyRangeResult>;
  }

  /** Verify one range of a file at rest on a worker; problems are in the result. */
  async verifyRange(task: VerifyRangeTask, signal?: AbortSignal): Promise<VerifyRangeResult> {
    if (this.closed) throw new JetError('JET_errInvalidParameter', 'the backup pool is closed');
    return this.piscina.run(task, { filename: VERIFY_WORKER, ...(signal ? { signal } : {}) }) as Promise<VerifyRangeResult>;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.piscina.destroy();
  }
}
