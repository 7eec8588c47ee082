/**
 * Backup worker: a pure function of a CopyRangeTask to a CopyRangeResult.
 *
 * Reads the range with positional reads, verifies every page (checksum and
 * page number; an all-zero page is "not initialized", not corruption),
 * re-reads a page that fails — a concurrent write may have torn it — with
 * back-off, and writes the range at the same offset of the destination. It
 * owns its file handles and keeps no state between tasks; errors come back
 * as data. I/O runs on this thread (blocking-file-system.ts: the libuv pool
 * stays free for the engine's log syncs). The `io` argument exists for tests.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { CopyRangeResult, CopyRangeTask } from '../src/backup/messages.js';
import { crc32c } from '../src/checksum/crc32c.js';
import { JetError, fromFsError } from '../src/errors.js';
import { checkPage, describePageCheck, pageOffset } from '../src/format/page.js';
import { blockingFileSystem } from '../src/io/blocking-file-system.js';
import type { FileHandle, FileSystem } from '../src/io/file-system.js';

/**
 * The read buffer, kept between tasks: a fresh multi-MiB buffer per task costs
 * an mmap and a page fault per 4 KiB (the kernel zeroes each page), more than
 * the copy itself. Private to this thread, and never part of a result.
 */
let scratch = Buffer.alloc(0);

function rangeBuffer(bytes: number): Buffer {
  if (scratch.length < bytes) scratch = Buffer.allocUnsafeSlow(bytes);
  return scratch.subarray(0, bytes);
}

export default async function copyRange(task: CopyRangeTask, io: FileSystem = blockingFileSystem): Promise<CopyRangeResult> {
  const result: CopyRangeResult = {
    firstPage: task.firstPage, pageCount: task.pageCount, crc: 0, bytes: 0,
    pagesVerified: 0, pagesUninitialized: 0, pagesReread: 0, error: null,
  };
  let src: FileHandle | undefined;
  let dst: FileHandle | undefined;
  try {
    src = await io.open(task.src, 'r');
    if (task.dst !== null) dst = await io.open(task.dst, 'r+');
    const { pageSize } = task;
    const buf = rangeBuffer(task.pageCount * pageSize);
    const at = pageOffset(task.firstPage, pageSize);
    const n = await src.read(buf, 0, buf.length, at);
    buf.fill(0, n); // past the end of the file: never written
    for (let i = 0; i < task.pageCount; i++) {
      const pgno = task.firstPage + i;
      const page = buf.subarray(i * pageSize, (i + 1) * pageSize);
      let check = checkPage(page, pgno);
      for (let attempt = 0; !check.ok && attempt < task.retries; attempt++) {
        await sleep((attempt + 1) * task.retryDelayMs);
        const m = await src.read(page, 0, pageSize, pageOffset(pgno, pageSize));
        page.fill(0, m);
        check = checkPage(page, pgno);
        if (check.ok) result.pagesReread++;
      }
      if (!check.ok) {
        throw new JetError('JET_errReadVerifyFailure',
          `database ${task.src} page ${pgno}: ${describePageCheck(check)} after ${task.retries} re-reads`);
      }
      if (check.initialized) result.pagesVerified++;
      else result.pagesUninitialized++;
    }
    if (dst) await dst.write(buf, 0, buf.length, at);
    result.crc = crc32c(buf);
    result.bytes = buf.length;
  } catch (e) {
    const j = fromFsError(e, `copying pages ${task.firstPage}..${task.firstPage + task.pageCount - 1} of ${task.src}`);
    result.error = { errName: j.errName, message: j.detail };
  } finally {
    await src?.close().catch(() => undefined);
    await dst?.close().catch(() => undefined);
  }
  return result;
}
