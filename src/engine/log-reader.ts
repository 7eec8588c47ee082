/**
 * Reads one log generation and says exactly where it ends and why.
 *
 * The end of a generation is one of:
 *  - its ROLL record: the generation was finished and synced before the next began;
 *  - in the current generation (<base>.log) only: the first spot that holds no
 *    valid record — blank bytes, or a torn record left by a crash mid-write —
 *    provided no valid record follows anywhere after it.
 * A bad record that is followed by a valid one is corruption, never an end:
 * acknowledged commits may sit behind it, so it is JET_errLogReadVerifyFailure
 * naming file and offset. A finished generation without its ROLL record is
 * corruption too.
 *
 * What this reader does NOT check: transaction structure (BEGIN/COMMIT
 * pairing) and the contents of payloads; recovery does that. It also does not
 * compare generations with each other (signature, timePrevGen); log-chain.ts does.
 */
import { JetError, fromFsError } from '../errors.js';
import { LOG_HEADER_BLOCK, decodeLogHeader, type LogHeader } from '../format/log-header.js';
import { RECORD_ALIGN, REC_ROLL, parseRecord } from '../format/log-record.js';
import type { FileSystem } from '../io/file-system.js';

export interface LogRecordView {
  /** Offset of the record in its file. */
  off: number;
  /** Offset just past it (its padded end). */
  next: number;
  type: number;
  payload: Buffer;
}

export interface GenerationContents {
  header: LogHeader;
  records: LogRecordView[];
  /** Offset after the last valid record: where the next record goes. */
  end: number;
  /** True when the generation ends with its ROLL record. */
  finished: boolean;
  /** Bytes of a torn record at the end (current generation only), else 0. */
  tornBytes: number;
}

/** Check the header of a log file's first block; throws the matching JetError. */
export function checkLogHeader(buf: Buffer, path: string): LogHeader {
  const h = decodeLogHeader(buf);
  if (!h.ok) {
    if (h.version !== undefined) throw new JetError('JET_errBadLogVersion', `log ${path}: ${h.reason}`);
    throw new JetError('JET_errLogFileCorrupt', `log ${path}: ${h.reason}`);
  }
  return h.header;
}

/** The first offset >= from at which a valid record parses, or -1. */
function findValidRecord(buf: Buffer, from: number, gen: number): number {
  for (let at = from; at + RECORD_ALIGN <= buf.length; at += RECORD_ALIGN) {
    if (parseRecord(buf, at, gen).kind === 'record') return at;
  }
  return -1;
}

/** Parse a whole generation held in memory. Pure. */
export function parseGeneration(buf: Buffer, path: string, isCurrent: boolean): GenerationContents {
  const header = checkLogHeader(buf, path);
  const gen = header.generation;
  const records: LogRecordView[] = [];
  let at = LOG_HEADER_BLOCK;
  for (;;) {
    const r = at < buf.length ? parseRecord(buf, at, gen) : ({ kind: 'blank' } as const);
    if (r.kind === 'record') {
      records.push({ off: at, next: r.next, type: r.type, payload: r.payload });
      at = r.next;
      if (r.type === REC_ROLL) return { header, records, end: at, finished: true, tornBytes: 0 };
      continue;
    }
    const later = findValidRecord(buf, at + RECORD_ALIGN, gen);
    if (later >= 0) {
      const what = r.kind === 'bad' ? r.reason : 'blank record header';
      throw new JetError('JET_errLogReadVerifyFailure',
        `log ${path} (generation ${gen}) offset ${at}: ${what}, yet a valid record follows at offset ${later}`);
    }
    if (!isCurrent) {
      throw new JetError('JET_errLogReadVerifyFailure',
        `log ${path} (generation ${gen}) offset ${at}: ${r.kind === 'bad' ? r.reason : 'ends'} before its end-of-generation record`);
    }
    let tornBytes = 0;
    if (r.kind === 'bad') {
      // Count the non-zero bytes of the torn write, for the report only.
      let last = buf.length;
      while (last > at && buf[last - 1] === 0) last--;
      tornBytes = last - at;
    }
    return { header, records, end: at, finished: false, tornBytes };
  }
}

/** Read a generation's file and parse it. */
export async function readGeneration(io: FileSystem, path: string, isCurrent: boolean): Promise<GenerationContents> {
  let buf: Buffer;
  try {
    buf = await io.readFile(path);
  } catch (e) {
    throw fromFsError(e, `reading log ${path}`);
  }
  return parseGeneration(buf, path, isCurrent);
}

/** Read and check just the header block of a log file. */
export async function readLogHeader(io: FileSystem, path: string): Promise<LogHeader> {
  let head: Buffer;
  try {
    const fh = await io.open(path, 'r');
    try {
      head = Buffer.alloc(LOG_HEADER_BLOCK);
      await fh.read(head, 0, LOG_HEADER_BLOCK, 0);
    } finally {
      await fh.close();
    }
  } catch (e) {
    throw fromFsError(e, `reading log header of ${path}`);
  }
  return checkLogHeader(head, path);
}
