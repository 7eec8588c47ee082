/**
 * A FileSystem wrapper for tests and benchmarks: it fails or delays chosen
 * operations, and counts every operation by kind and path. It wraps the real
 * file system: every operation that is not failed really happens on disk.
 */
import type { FileHandle, FileSystem, OpenMode } from './file-system.js';

export type FaultOp = 'open' | 'read' | 'write' | 'datasync' | 'truncate' | 'rename' | 'unlink' | 'rmdir' | 'syncDir';

export interface FaultRule {
  op: FaultOp;
  /** The rule applies to paths for which this returns true. */
  path: (path: string) => boolean;
  /** errno code to throw, e.g. 'EIO' or 'ENOSPC'. Without it the rule only delays. */
  code?: string;
  /** Wait this long before the operation (or before failing it). */
  delayMs?: number;
  /** Let this many matching calls through first (default 0). */
  after?: number;
  /** Apply to this many matching calls, then let them through again (default: forever). */
  times?: number;
}

export class FaultyFileSystem implements FileSystem {
  private readonly rules: FaultRule[] = [];
  private readonly seen = new Map<FaultRule, number>();
  private readonly calls = new Map<string, number>();
  private readonly written = new Map<string, number>();

  constructor(private readonly base: FileSystem) {}

  fail(rule: FaultRule): this { this.rules.push(rule); return this; }
  clear(): void { this.rules.length = 0; this.seen.clear(); }

  /** How many `op` calls were made on paths matching `path`. */
  count(op: FaultOp, path: (p: string) => boolean = () => true): number {
    let n = 0;
    for (const [key, c] of this.calls) {
      const [o, p] = key.split('\0') as [string, string];
      if (o === op && path(p)) n += c;
    }
    return n;
  }

  /** Bytes written to paths matching `path`. */
  bytesWritten(path: (p: string) => boolean = () => true): number {
    let n = 0;
    for (const [p, c] of this.written) if (path(p)) n += c;
    return n;
  }

  /** Start counting from zero. */
  resetCounts(): void {
    this.calls.clear();
    this.written.clear();
  }

  /** Count the call, then delay and/or throw as the rules say. */
  private async apply(op: FaultOp, path: string, bytes = 0): Promise<void> {
    const key = `${op}\0${path}`;
    this.calls.set(key, (this.calls.get(key) ?? 0) + 1);
    if (bytes > 0) this.written.set(path, (this.written.get(path) ?? 0) + bytes);
    for (const rule of this.rules) {
      if (rule.op !== op || !rule.path(path)) continue;
      const n = (this.seen.get(rule) ?? 0) + 1;
      this.seen.set(rule, n);
      const after = rule.after ?? 0;
      if (n <= after || (rule.times !== undefined && n > after + rule.times)) continue;
      if (rule.delayMs) await new Promise((r) => setTimeout(r, rule.delayMs));
      if (rule.code) {
        const e = new Error(`injected ${rule.code} on ${op} ${path}`) as NodeJS.ErrnoException;
        e.code = rule.code;
        throw e;
      }
    }
  }

  async open(path: string, mode: OpenMode): Promise<FileHandle> {
    await this.apply('open', path);
    const fh = await this.base.open(path, mode);
    const apply = (op: FaultOp, bytes = 0) => this.apply(op, path, bytes);
    return {
      read: async (b, o, l, p) => { await apply('read'); return fh.read(b, o, l, p); },
      write: async (b, o, l, p) => { await apply('write', l); return fh.write(b, o, l, p); },
      writev: async (bufs, p) => { await apply('write', bufs.reduce((n, x) => n + x.length, 0)); return fh.writev(bufs, p); },
      datasync: async () => { await apply('datasync'); return fh.datasync(); },
      truncate: async (len) => { await apply('truncate'); return fh.truncate(len); },
      size: () => fh.size(),
      close: () => fh.close(),
    };
  }
  async rename(from: string, to: string) { await this.apply('rename', from); return this.base.rename(from, to); }
  async unlink(path: string) { await this.apply('unlink', path); return this.base.unlink(path); }
  readdir(path: string) { return this.base.readdir(path); }
  mkdir(path: string, recursive: boolean) { return this.base.mkdir(path, recursive); }
  async rmdir(path: string) { await this.apply('rmdir', path); return this.base.rmdir(path); }
  exists(path: string) { return this.base.exists(path); }
  readFile(path: string) { return this.base.readFile(path); }
  async syncDir(path: string) { await this.apply('syncDir', path); return this.base.syncDir(path); }
}
