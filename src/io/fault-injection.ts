/**
 * A FileSystem wrapper that fails chosen operations, for tests of the
 * "nothing is lost" rules. It wraps the real file system: every operation that
 * is not failed really happens on disk.
 */
import type { FileHandle, FileSystem, OpenMode } from './file-system.js';

export type FaultOp = 'open' | 'read' | 'write' | 'datasync' | 'truncate' | 'rename' | 'unlink' | 'syncDir';

export interface FaultRule {
  op: FaultOp;
  /** The fault applies to paths for which this returns true. */
  path: (path: string) => boolean;
  /** errno code to throw, e.g. 'EIO' or 'ENOSPC'. */
  code: string;
  /** Let this many matching calls succeed first (default 0). */
  after?: number;
  /** Fail this many matching calls, then succeed again (default: forever). */
  times?: number;
}

/** A wrapper whose rules can be added and cleared while an instance runs. */
export class FaultyFileSystem implements FileSystem {
  readonly rules: FaultRule[] = [];
  private readonly seen = new Map<FaultRule, number>();
  constructor(private readonly base: FileSystem) {}

  fail(rule: FaultRule): this { this.rules.push(rule); return this; }
  clear(): void { this.rules.length = 0; this.seen.clear(); }

  /** Throws when a rule matches this call. */
  check(op: FaultOp, path: string): void {
    for (const rule of this.rules) {
      if (rule.op !== op || !rule.path(path)) continue;
      const n = (this.seen.get(rule) ?? 0) + 1;
      this.seen.set(rule, n);
      const after = rule.after ?? 0;
      if (n <= after) continue;
      if (rule.times !== undefined && n > after + rule.times) continue;
      const e = new Error(`injected ${rule.code} on ${op} ${path}`) as NodeJS.ErrnoException;
      e.code = rule.code;
      throw e;
    }
  }

  async open(path: string, mode: OpenMode): Promise<FileHandle> {
    this.check('open', path);
    const fh = await this.base.open(path, mode);
    const check = (op: FaultOp) => this.check(op, path);
    return {
      read: async (b, o, l, p) => { check('read'); return fh.read(b, o, l, p); },
      write: async (b, o, l, p) => { check('write'); return fh.write(b, o, l, p); },
      datasync: async () => { check('datasync'); return fh.datasync(); },
      truncate: async (len) => { check('truncate'); return fh.truncate(len); },
      size: () => fh.size(),
      close: () => fh.close(),
    };
  }
  async rename(from: string, to: string) { this.check('rename', from); return this.base.rename(from, to); }
  async unlink(path: string) { this.check('unlink', path); return this.base.unlink(path); }
  readdir(path: string) { return this.base.readdir(path); }
  mkdir(path: string, recursive: boolean) { return this.base.mkdir(path, recursive); }
  exists(path: string) { return this.base.exists(path); }
  readFile(path: string) { return this.base.readFile(path); }
  async syncDir(path: string) { this.check('syncDir', path); return this.base.syncDir(path); }
}
