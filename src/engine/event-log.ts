/**
 * The instance's event log: one JSON object per line in
 * <systemPath>/<base>.events.jsonl, for operators (backup start, files
 * copied, log truncation, results; recovery; fatal errors).
 *
 * Appends are queued in order and written with O_APPEND semantics through a
 * position the writer tracks itself. Writing the event log never fails the
 * operation it describes: a failed append is dropped and counted.
 */
import * as path from 'node:path';
import { JetError } from '../errors.js';
import type { FileSystem } from '../io/file-system.js';

export function eventLogPath(systemPath: string, base: string): string {
  return path.join(systemPath, `${base}.events.jsonl`);
}

/** JSON for an event: errors become {err, errName, message}. */
function toJson(e: Record<string, unknown>): string {
  return JSON.stringify({ time: new Date().toISOString(), ...e }, (_k, v: unknown) => {
    if (v instanceof JetError) return { err: v.err, errName: v.errName, message: v.detail };
    if (v instanceof Error) return { message: v.message };
    return v;
  });
}

export class EventLog {
  private tail: Promise<void> = Promise.resolve();
  /** Appends that could not be written. */
  dropped = 0;

  constructor(private readonly io: FileSystem, readonly file: string) {}

  append(e: Record<string, unknown>): void {
    const line = Buffer.from(`${toJson(e)}\n`, 'utf8');
    this.tail = this.tail.then(() => this.write(line)).catch(() => { this.dropped++; });
  }

  /** Resolves when everything appended so far has been written (or dropped). */
  flush(): Promise<void> {
    return this.tail;
  }

  private async write(line: Buffer): Promise<void> {
    const exists = await this.io.exists(this.file);
    const fh = await this.io.open(this.file, exists ? 'r+' : 'wx');
    try {
      await fh.write(line, 0, line.length, await fh.size());
    } finally {
      await fh.close();
    }
  }
}
