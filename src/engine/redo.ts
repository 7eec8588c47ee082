/**
 * Redo of one PAGE record on one page image. Pure.
 *
 * dbtime makes redo idempotent: a page whose dbtime is already at or past the
 * record's dbtimeAfter holds the change; a page at exactly dbtimeBefore gets
 * it; any other dbtime means a change in between is missing, which is
 * corruption, never something to paper over.
 */
import { JetError } from '../errors.js';
import type { PageRecord } from '../format/log-record.js';
import { pageDbtime, sealPage, setPageDbtime } from '../format/page.js';

export type RedoResult = 'applied' | 'skipped';

/** Apply `rec` to `page` in place (when needed). `where` names the file for errors. */
export function redoPage(page: Buffer, rec: PageRecord, where: string): RedoResult {
  const dbtime = pageDbtime(page);
  if (dbtime >= rec.dbtimeAfter) return 'skipped';
  if (dbtime !== rec.dbtimeBefore) {
    throw new JetError('JET_errDatabaseCorrupted',
      `${where} page ${rec.pgno}: dbtime ${dbtime} on disk, but the log's next change expects ${rec.dbtimeBefore}`);
  }
  // Check every range before changing a byte: a rejected record leaves the page as it was.
  for (const r of rec.ranges) {
    if (r.offset < 4 || r.offset + r.bytes.length > page.length) {
      throw new JetError('JET_errLogFileCorrupt', `${where} page ${rec.pgno}: log range ${r.offset}+${r.bytes.length} outside the page`);
    }
  }
  for (const r of rec.ranges) r.bytes.copy(page, r.offset);
  setPageDbtime(page, rec.dbtimeAfter);
  sealPage(page);
  return 'applied';
}
