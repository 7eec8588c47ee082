/**
 * Verify worker: a pure function of a VerifyRangeTask to a VerifyRangeResult.
 *
 * Reads a range of a database file at rest (a backup copy, or the file of an
 * instance nobody has open), checks every page (checksum, page number; an
 * all-zero page is "not initialized", not corruption) and reports every bad
 * page rather than stopping at the first, plus the range's CRC32C so the
 * caller can compare it with a manifest. Errors come back as data.
 */
import { MAX_BAD_PAGES_PER_RANGE, type VerifyRangeResult, type VerifyRangeTask } from '../src/backup/messages.js';
import { crc32c } from '../src/checksum/crc32c.js';
import { fromFsError } from '../src/errors.js';
import { checkPage, describePageCheck, pageOffset } from '../src/format/page.js';
import { blockingFileSystem } from '../src/io/blocking-file-system.js';
import type { FileHandle, FileSystem } from '../src/io/file-system.js';

export default async function verifyRange(task: VerifyRangeTask, io: FileSystem = blockingFileSystem): Promise<VerifyRangeResult> {
  const result: VerifyRangeResult = {
    firstPage: task.firstPage, pageCount: task.pageCount, crc: 0, pagesVerified: 0, pagesUninitialized: 0, bad: [], missingBytes: 0, error: null,
  };
  let fh: FileHandle | undefined;
  try {
    fh = await io.open(task.file, 'r');
    const { pageSize } = task;
    const buf = Buffer.allocUnsafe(task.pageCount * pageSize);
    const n = await fh.read(buf, 0, buf.length, pageOffset(task.firstPage, pageSize));
    buf.fill(0, n);
    result.missingBytes = buf.length - n;
    for (let i = 0; i < task.pageCount; i++) {
      const pgno = task.firstPage + i;
      if ((i + 1) * pageSize > n) {
        if (result.bad.length < MAX_BAD_PAGES_PER_RANGE) result.bad.push({ pgno, what: 'missing (the file ends before it)' });
        continue;
      }
      const check = checkPage(buf.subarray(i * pageSize, (i + 1) * pageSize), pgno);
      if (!check.ok) {
        if (result.bad.length < MAX_BAD_PAGES_PER_RANGE) result.bad.push({ pgno, what: describePageCheck(check) });
      } else if (check.initialized) result.pagesVerified++;
      else result.pagesUninitialized++;
    }
    result.crc = crc32c(buf);
  } catch (e) {
    const j = fromFsError(e, `verifying pages ${task.firstPage}..${task.firstPage + task.pageCount - 1} of ${task.file}`);
    result.error = { errName: j.errName, message: j.detail };
  } finally {
    await fh?.close().catch(() => undefined);
  }
  return result;
}
