/**
 * The backup socket's protocol: newline-delimited JSON, one object per line,
 * each line at most MAX_MESSAGE_BYTES. Every message type lives here; the
 * server (backup-server.ts) and the client (backup-client.ts) import them.
 *
 *   client -> server   {"id":1,"op":"backup","path":"/b","grbit":0,"options":{"workers":2,"rateBytesPerSec":0}}
 *                      {"id":2,"op":"truncate"}      (instance.backup(null))
 *                      {"id":3,"op":"info"}          (log generations, databases, state)
 *   server -> client   {"id":1,"type":"status","snp":9,"snt":0,"progress":{...}}   zero or more
 *                      {"id":1,"type":"result","result":{...}}                      then exactly one of
 *                      {"id":1,"type":"error","err":-1018,"errName":"JET_errReadVerifyFailure","message":"..."}
 *
 * A malformed or unknown request gets an error reply (id 0 when it had none)
 * and the connection stays usable; a line longer than the limit gets an error
 * reply and the connection is closed (its framing cannot be trusted any more).
 * A client that disconnects aborts the backup it asked for.
 */
import type { BackupProgress, BackupResult } from '../backup/options.js';

export const SOCKET_NAME = 'esebackup.sock';
/** Requests (untrusted input) are small; replies carry a BackupResult, whose per-range CRCs grow with the database. */
export const MAX_MESSAGE_BYTES = 64 * 1024;
export const MAX_REPLY_BYTES = 256 * 1024 * 1024;
/** What a socket client may ask for: the holder's memory is at stake, so tighter than the in-process API. */
const OPTION_LIMITS = { workers: [1, 16], rateBytesPerSec: [0, Number.MAX_SAFE_INTEGER], rangePages: [1, 4096] } as const;

export interface BackupRequest {
  id: number;
  op: 'backup';
  path: string;
  grbit: number;
  options?: { workers?: number; rateBytesPerSec?: number; rangePages?: number };
}

export interface SimpleRequest {
  id: number;
  op: 'truncate' | 'info';
}

export type Request = BackupRequest | SimpleRequest;

export interface InstanceSummary {
  dir: string;
  state: string;
  pid: number;
  databases: { name: string; pages: number }[];
  generations: { lowest: number; current: number; checkpoint: number };
}

export type Reply =
  | { id: number; type: 'status'; snp: number; snt: number; progress?: BackupProgress }
  | { id: number; type: 'result'; result: BackupResult | InstanceSummary }
  | { id: number; type: 'error'; err: number; errName: string; message: string };

export type ParsedRequest = { ok: true; request: Request } | { ok: false; id: number; message: string };

/** Check one request line's shape. Pure; never throws. */
export function parseRequest(line: string): ParsedRequest {
  let v: unknown;
  try {
    v = JSON.parse(line);
  } catch {
    return { ok: false, id: 0, message: 'the request is not JSON' };
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return { ok: false, id: 0, message: 'the request is not a JSON object' };
  const r = v as Record<string, unknown>;
  const id = typeof r.id === 'number' && Number.isSafeInteger(r.id) && r.id > 0 ? r.id : 0;
  if (id === 0) return { ok: false, id: 0, message: 'the request needs a positive integer id' };
  if (r.op === 'truncate' || r.op === 'info') return { ok: true, request: { id, op: r.op } };
  if (r.op !== 'backup') return { ok: false, id, message: `unknown op ${JSON.stringify(r.op)}` };
  if (typeof r.path !== 'string' || r.path.length === 0) return { ok: false, id, message: 'backup needs a path' };
  if (typeof r.grbit !== 'number') return { ok: false, id, message: 'backup needs a numeric grbit' };
  const o = r.options;
  if (o !== undefined && (typeof o !== 'object' || o === null || Array.isArray(o))) return { ok: false, id, message: 'options must be an object' };
  const options: BackupRequest['options'] = {};
  for (const [k, val] of Object.entries((o ?? {}) as Record<string, unknown>)) {
    if (k !== 'workers' && k !== 'rateBytesPerSec' && k !== 'rangePages') return { ok: false, id, message: `unknown option ${k}` };
    const [lo, hi] = OPTION_LIMITS[k];
    if (typeof val !== 'number' || !Number.isInteger(val) || val < lo || val > hi) {
      return { ok: false, id, message: `option ${k} must be an integer from ${lo} to ${hi}` };
    }
    options[k] = val;
  }
  return { ok: true, request: { id, op: 'backup', path: r.path, grbit: r.grbit, options } };
}

/**
 * Split a byte stream into lines of at most MAX_MESSAGE_BYTES. push() returns
 * the complete lines so far, or 'overflow' when a line grew past the limit.
 */
export class LineSplitter {
  private buffered = '';
  private overflowed = false;

  constructor(private readonly max = MAX_MESSAGE_BYTES) {}

  /** After 'overflow' the splitter keeps nothing and answers 'overflow' to every later chunk. */
  push(chunk: string): string[] | 'overflow' {
    if (this.overflowed) return 'overflow';
    this.buffered += chunk;
    const lines = this.buffered.split('\n');
    this.buffered = lines.pop()!;
    if (Buffer.byteLength(this.buffered) > this.max || lines.some((l) => Buffer.byteLength(l) > this.max)) {
      this.overflowed = true;
      this.buffered = '';
      return 'overflow';
    }
    return lines.filter((l) => l.trim().length > 0);
  }
}
