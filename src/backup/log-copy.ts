/**
 * The log phase of a backup: finished generations [low, high], one at a time
 * and in order (each is checked against the one before it), every record
 * verified before a byte is written to the destination.
 */
import * as path from 'node:path';
import { crc32c } from '../checksum/crc32c.js';
import { JetError, fromFsError } from '../errors.js';
import type { ManifestLog } from '../format/backup-manifest.js';
import { archivedLogName } from '../format/log-names.js';
import type { FileSystem } from '../io/file-system.js';
import { checkFollows } from '../engine/log-chain.js';
import { parseGeneration } from '../engine/log-reader.js';
import type { LogHeader } from '../format/log-header.js';
import type { RateLimiter, StatusReporter } from './progress.js';

export interface LogCopyContext {
  io: FileSystem;
  /** The instance's log directory and base name. */
  logDir: string;
  baseName: string;
  logSignature: string;
  signal: AbortSignal | undefined;
  status: StatusReporter;
  rate: RateLimiter;
  created: (name: string) => void;
  /** The last generation already in the set (incremental), to chain the first copied one to. */
  previous?: { generation: number; timeCreate: number };
}

/** Read, verify and copy generations low..high into `dir`; resolves to what was copied. */
export async function copyLogs(ctx: LogCopyContext, low: number, high: number, dir: string): Promise<ManifestLog[]> {
  const copied: ManifestLog[] = [];
  let prev: LogHeader | undefined;
  for (let gen = low; gen <= high; gen++) {
    ctx.signal?.throwIfAborted();
    ctx.status.check();
    const name = archivedLogName(ctx.baseName, gen);
    const src = path.join(ctx.logDir, name);
    let buf: Buffer;
    try {
      buf = await ctx.io.readFile(src);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') {
        throw new JetError('JET_errMissingFileToBackup', `log generation ${gen} (${src}), needed by the backup, is missing`);
      }
      throw fromFsError(e, `reading log ${src}`);
    }
    const header = verifyGeneration(buf, src, gen, ctx, prev);
    await ctx.rate.take(buf.length, ctx.signal);
    const dst = path.join(dir, name);
    ctx.created(name);
    try {
      const fh = await ctx.io.open(dst, 'wx');
      try {
        await fh.write(buf, 0, buf.length, 0);
        await fh.datasync();
      } finally {
        await fh.close();
      }
    } catch (e) {
      throw fromFsError(e, `writing backup log ${dst}`);
    }
    copied.push({ generation: gen, name, bytes: buf.length, crc: crc32c(buf), timeCreate: header.timeCreate, timePrevGen: header.timePrevGen });
    ctx.status.advance(buf.length, 'logs', name, gen === high);
    prev = header;
  }
  return copied;
}

/** Every record of a finished generation, its number, signature and place in the chain; else JET_errLogReadVerifyFailure. */
function verifyGeneration(buf: Buffer, src: string, gen: number, ctx: LogCopyContext, prev: LogHeader | undefined): LogHeader {
  try {
    const g = parseGeneration(buf, src, false);
    const h = g.header;
    if (h.generation !== gen) throw new JetError('JET_errInvalidLogSequence', `log ${src} holds generation ${h.generation}, not ${gen}`);
    if (h.logSignature !== ctx.logSignature) throw new JetError('JET_errBadLogSignature', `log ${src} belongs to another log sequence`);
    if (prev) checkFollows(prev, h, src);
    else if (ctx.previous && (ctx.previous.generation !== gen - 1 || ctx.previous.timeCreate !== h.timePrevGen)) {
      throw new JetError('JET_errInvalidLogSequence', `log ${src} does not follow generation ${ctx.previous.generation} already in the backup set`);
    }
    return h;
  } catch (e) {
    const j = e instanceof JetError ? e : fromFsError(e, `verifying log ${src}`);
    if (j.errName === 'JET_errLogReadVerifyFailure') throw j;
    throw new JetError('JET_errLogReadVerifyFailure', `log generation ${gen} failed verification: ${j.message}`, { cause: j });
  }
}
