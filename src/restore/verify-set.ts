/**
 * Verifying files at rest: the page ranges of database files (on the worker
 * pool, in parallel) and log generations (here, one after another, while the
 * workers run). Shared by verify() for backup sets and for instance
 * directories, and by restore's checks. Every problem is collected, not just
 * the first; each carries the JET_err a restore would fail with.
 *
 * CONCURRENCY NOTES
 * - Page ranges go to the pool through p-limit (2 x workers in flight);
 *   logs are parsed on this thread meanwhile. Results are only appended to
 *   the report, never shared with workers.
 */
import pLimit from 'p-limit';
import { crc32c } from '../checksum/crc32c.js';
import { JetError, errNumber, fromFsError, type JetErrName } from '../errors.js';
import type { LogHeader } from '../format/log-header.js';
import type { FileSystem } from '../io/file-system.js';
import { parseGeneration } from '../engine/log-reader.js';
import type { BackupPool } from '../backup/pool.js';
import { planRanges } from '../backup/plan.js';

export interface VerifyProblem {
  file: string;
  page?: number;
  generation?: number;
  what: string;
  err: number;
  errName: JetErrName;
}

export interface VerifiedDatabase {
  file: string;
  pages: number;
  pagesVerified: number;
  pagesUninitialized: number;
}

export class ProblemList {
  readonly items: VerifyProblem[] = [];

  add(errName: JetErrName, file: string, what: string, at: { page?: number; generation?: number } = {}): void {
    this.items.push({ file, ...at, what, err: errNumber(errName), errName });
  }

  /** The first problem as a JetError (what a restore fails with), mentioning how many more there are. */
  toError(context: string): JetError {
    const first = this.items[0]!;
    const more = this.items.length > 1 ? ` (and ${this.items.length - 1} more problem${this.items.length > 2 ? 's' : ''})` : '';
    const where = first.page !== undefined ? ` page ${first.page}` : first.generation !== undefined ? ` (generation ${first.generation})` : '';
    return new JetError(first.errName, `${context}: ${first.file}${where}: ${first.what}${more}`);
  }
}

export interface PageFile {
  file: string;
  pageSize: number;
  pages: number;
  /** Expected CRC32C per range of `rangePages` (backup sets); undefined for live files. */
  rangeCrcs?: number[];
  rangePages: number;
}

/** Verify every page of each file on the pool; adds problems; resolves to per-file counts. */
export async function verifyPages(pool: BackupPool, files: PageFile[], problems: ProblemList, signal?: AbortSignal): Promise<VerifiedDatabase[]> {
  const out = files.map((f) => ({ file: f.file, pages: f.pages, pagesVerified: 0, pagesUninitialized: 0 }));
  const ranges = files.flatMap((f, i) => planRanges([{ name: f.file, pageCount: f.pages }], f.rangePages).map((r) => ({ ...r, file: i })));
  const limit = pLimit(2 * pool.workers);
  await Promise.all(ranges.map((r) => limit(async () => {
    signal?.throwIfAborted();
    const f = files[r.file]!;
    const res = await pool.verifyRange({ file: f.file, pageSize: f.pageSize, firstPage: r.firstPage, pageCount: r.pageCount }, signal);
    if (res.error) {
      problems.add(res.error.errName, f.file, res.error.message);
      return;
    }
    out[r.file]!.pagesVerified += res.pagesVerified;
    out[r.file]!.pagesUninitialized += res.pagesUninitialized;
    for (const b of res.bad) problems.add('JET_errReadVerifyFailure', f.file, b.what, { page: b.pgno });
    const want = f.rangeCrcs?.[(r.firstPage - 1) / f.rangePages];
    if (f.rangeCrcs && res.bad.length === 0 && res.crc !== want) {
      problems.add('JET_errReadVerifyFailure', f.file,
        `pages ${r.firstPage}..${r.firstPage + r.pageCount - 1} differ from the copy the backup made (range CRC32C ${res.crc.toString(16)}, manifest ${want?.toString(16) ?? 'none'})`,
        { page: r.firstPage });
    }
  })));
  out.sort((a, b) => a.file.localeCompare(b.file));
  return out;
}

/** Size of a file, or undefined when it is missing (a problem is added). */
export async function fileSize(io: FileSystem, file: string, problems: ProblemList, missing: JetErrName): Promise<number | undefined> {
  try {
    const fh = await io.open(file, 'r');
    try {
      return await fh.size();
    } finally {
      await fh.close();
    }
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') problems.add(missing, file, 'missing');
    else problems.add(fromFsError(e, 'opening').errName, file, (e as Error).message);
    return undefined;
  }
}

export interface LogToCheck {
  generation: number;
  file: string;
  /** The generation is the current one (<base>.log): it may end without ROLL. */
  current: boolean;
  /** Expected CRC32C of the whole file (backup sets). */
  crc?: number;
}

/**
 * Verify log generations in order: every record, the generation number in
 * each header, the signature, and that each follows the one before it.
 * Resolves to the headers that could be read.
 */
export async function verifyLogs(io: FileSystem, logs: LogToCheck[], logSignature: string | undefined, problems: ProblemList): Promise<LogHeader[]> {
  const headers: LogHeader[] = [];
  let prev: LogHeader | undefined;
  for (const l of logs) {
    let buf: Buffer;
    try {
      buf = await io.readFile(l.file);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') problems.add('JET_errMissingRestoreLogFiles', l.file, 'missing', { generation: l.generation });
      else problems.add(fromFsError(e, 'reading').errName, l.file, (e as Error).message, { generation: l.generation });
      prev = undefined;
      continue;
    }
    if (l.crc !== undefined && crc32c(buf) !== l.crc) {
      problems.add('JET_errLogReadVerifyFailure', l.file, 'its CRC32C differs from the one recorded when it was backed up', { generation: l.generation });
    }
    let h: LogHeader;
    try {
      h = parseGeneration(buf, l.file, l.current).header;
    } catch (e) {
      const j = fromFsError(e, 'parsing');
      const name: JetErrName = j.errName === 'JET_errBadLogVersion' ? j.errName : 'JET_errLogReadVerifyFailure';
      problems.add(name, l.file, j.detail, { generation: l.generation });
      prev = undefined;
      continue;
    }
    if (h.generation !== l.generation) {
      problems.add('JET_errGivenLogFileIsNotContiguous', l.file, `holds generation ${h.generation}, not ${l.generation}`, { generation: l.generation });
    } else if (logSignature !== undefined && h.logSignature !== logSignature) {
      problems.add('JET_errGivenLogFileHasBadSignature', l.file, 'belongs to another log sequence', { generation: l.generation });
    } else if (prev && (prev.generation !== h.generation - 1 || prev.timeCreate !== h.timePrevGen)) {
      problems.add('JET_errGivenLogFileIsNotContiguous', l.file, `does not follow generation ${prev.generation}`, { generation: l.generation });
    }
    headers.push(h);
    prev = h;
  }
  return headers;
}
