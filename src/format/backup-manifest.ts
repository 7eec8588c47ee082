/**
 * The backup manifest (`esebackup.manifest`): what a backup set holds. It is
 * the last file written into a backup and is synced before it is renamed into
 * place, so a set without a valid manifest was never finished.
 *
 *   line 1   "esebackup-manifest 1 crc32c=XXXXXXXX\n"   (CRC32C of the body, 8 hex digits)
 *   body     one JSON object (below), UTF-8, ending with "\n"
 *
 *   {
 *     "logSignature": hex,  "baseName": "edb",  "pageSize": 8192,  "logFileSize": bytes,
 *     "instanceDir": path of the instance at backup time (informational),
 *     "checkpoint": {gen, off},        where log replay starts (the full backup's start checkpoint)
 *     "databases": [{ name, dbSignature, pages, bytes, rangePages, rangeCrcs: [u32...] }],
 *     "logs":      [{ generation, name, bytes, crc, timeCreate, timePrevGen }],   ascending, contiguous
 *     "backups":   [{ type: "full"|"incremental", startedAt, finishedAt, genLow, genHigh,
 *                     mark: {gen, off} }]                                     the full first
 *   }
 *
 * Database files hold pages 0..pages+1 (two header pages first); rangeCrcs[i]
 * is the CRC32C of data pages [1 + i*rangePages, ...) as copied, before log
 * replay. Spec: docs/format/backup-manifest.md.
 */
import { crc32c } from '../checksum/crc32c.js';
import type { Lgpos } from './lgpos.js';
import { archivedLogName } from './log-names.js';
import { PAGE_SIZES } from './page.js';

export const MANIFEST_NAME = 'esebackup.manifest';
export const MANIFEST_VERSION = 1;
const MAGIC = 'esebackup-manifest';

export interface ManifestDatabase {
  name: string;
  dbSignature: string;
  pages: number;
  bytes: number;
  rangePages: number;
  rangeCrcs: number[];
}

export interface ManifestLog {
  generation: number;
  name: string;
  bytes: number;
  crc: number;
  timeCreate: number;
  timePrevGen: number;
}

export interface ManifestBackup {
  type: 'full' | 'incremental';
  startedAt: number;
  finishedAt: number;
  genLow: number;
  genHigh: number;
  mark: Lgpos;
}

export interface Manifest {
  logSignature: string;
  baseName: string;
  pageSize: number;
  logFileSize: number;
  instanceDir: string;
  checkpoint: Lgpos;
  databases: ManifestDatabase[];
  logs: ManifestLog[];
  backups: ManifestBackup[];
}

export function encodeManifest(m: Manifest): Buffer {
  const body = Buffer.from(`${JSON.stringify(m, null, 1)}\n`, 'utf8');
  const head = `${MAGIC} ${MANIFEST_VERSION} crc32c=${crc32c(body).toString(16).padStart(8, '0')}\n`;
  return Buffer.concat([Buffer.from(head, 'utf8'), body]);
}

export type ManifestDecode = { ok: true; manifest: Manifest } | { ok: false; reason: string };

const isInt = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v >= 0;
const isLgpos = (v: unknown): v is Lgpos => typeof v === 'object' && v !== null && isInt((v as Lgpos).gen) && isInt((v as Lgpos).off);

/** A relative path of plain segments: no '..', no '.', no leading '/', no backslashes, no empty segments. */
function isSafeRelativeName(name: string): boolean {
  if (name.length === 0 || name.length > 1024 || name.includes('\\') || name.includes('\0') || name.startsWith('/')) return false;
  return name.split('/').every((seg) => seg.length > 0 && seg !== '.' && seg !== '..');
}

/** Check the CRC and the shape; never throws. */
export function decodeManifest(buf: Buffer): ManifestDecode {
  const nl = buf.indexOf(0x0a);
  if (nl < 0) return { ok: false, reason: 'no header line' };
  const m = /^esebackup-manifest (\d+) crc32c=([0-9a-f]{8})$/.exec(buf.subarray(0, nl).toString('utf8'));
  if (!m) return { ok: false, reason: 'not a backup manifest' };
  if (Number(m[1]) !== MANIFEST_VERSION) return { ok: false, reason: `manifest version ${m[1]}, this build reads ${MANIFEST_VERSION}` };
  const body = buf.subarray(nl + 1);
  if (crc32c(body) !== parseInt(m[2]!, 16)) return { ok: false, reason: 'checksum mismatch (the manifest is damaged or was not written completely)' };
  let v: Manifest;
  try {
    v = JSON.parse(body.toString('utf8')) as Manifest;
  } catch (e) {
    return { ok: false, reason: `body is not JSON (${(e as Error).message})` };
  }
  const shapeOk = typeof v === 'object' && v !== null && typeof v.logSignature === 'string' && typeof v.baseName === 'string'
    && isInt(v.pageSize) && isInt(v.logFileSize) && isLgpos(v.checkpoint)
    && Array.isArray(v.databases) && v.databases.every((d) => typeof d.name === 'string' && isInt(d.pages) && Array.isArray(d.rangeCrcs))
    && Array.isArray(v.logs) && v.logs.length > 0 && v.logs.every((l, i) => isInt(l.generation) && typeof l.name === 'string' && isInt(l.crc)
      && (i === 0 || l.generation === v.logs[i - 1]!.generation + 1))
    && Array.isArray(v.backups) && v.backups.length > 0 && v.backups[0]!.type === 'full';
  if (!shapeOk) return { ok: false, reason: 'fields missing or malformed' };
  // The CRC guards against damage, not against a crafted manifest: every name a
  // restore turns into a path must stay inside the set and the destination.
  if (!/^[A-Za-z0-9_]{3}$/.test(v.baseName) || !(PAGE_SIZES as readonly number[]).includes(v.pageSize)) {
    return { ok: false, reason: 'bad base name or page size' };
  }
  if (!v.databases.every((d) => isSafeRelativeName(d.name) && isInt(d.rangePages) && d.rangePages >= 1)) {
    return { ok: false, reason: 'a database name is not a plain relative path, or a range size is bad' };
  }
  if (!v.logs.every((l) => l.name === archivedLogName(v.baseName, l.generation))) {
    return { ok: false, reason: 'a log file name does not match its generation' };
  }
  return { ok: true, manifest: v };
}
