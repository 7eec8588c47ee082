/**
 * The messages between the backup coordinator and its workers: plain,
 * structured-cloneable data, imported with `import type` on both sides.
 * A worker never throws across the thread boundary: failures come back as
 * `error` data and the coordinator turns them back into JetErrors.
 */
import type { JetErrName } from '../errors.js';

/** Copy (or only verify) pages [firstPage, firstPage + pageCount) of one database file. */
export interface CopyRangeTask {
  /** The live database file to read. */
  src: string;
  /** The pre-sized destination file, written at the same offsets; null = verify only. */
  dst: string | null;
  pageSize: number;
  firstPage: number;
  pageCount: number;
  /** Reads of a page that fails verification before giving up (ESE: 16). */
  retries: number;
  /** Back-off before re-read i is (i + 1) x this many ms (ESE: 100). */
  retryDelayMs: number;
}

export interface WireError {
  errName: JetErrName;
  /** JetError.detail: rebuild with new JetError(errName, message). */
  message: string;
}

export interface CopyRangeResult {
  firstPage: number;
  pageCount: number;
  /** CRC32C of the range's bytes as copied, page after page. */
  crc: number;
  bytes: number;
  pagesVerified: number;
  /** Pages never written (all zeros): valid, counted apart. */
  pagesUninitialized: number;
  /** Pages that failed verification at first and passed when read again. */
  pagesReread: number;
  error: WireError | null;
}

/** Verify pages [firstPage, firstPage + pageCount) of a file at rest, reporting every bad page. */
export interface VerifyRangeTask {
  file: string;
  pageSize: number;
  firstPage: number;
  pageCount: number;
}

export interface BadPage {
  pgno: number;
  /** What is wrong (checksum mismatch, page number mismatch, short file). */
  what: string;
}

export interface VerifyRangeResult {
  firstPage: number;
  pageCount: number;
  /** CRC32C of the range's bytes as read (zeros past the end of the file). */
  crc: number;
  pagesVerified: number;
  pagesUninitialized: number;
  /** Every page that failed, in order (at most MAX_BAD_PAGES_PER_RANGE). */
  bad: BadPage[];
  /** Bytes of the range past the end of the file. */
  missingBytes: number;
  error: WireError | null;
}

export const MAX_BAD_PAGES_PER_RANGE = 64;
