/**
 * info (headers, states, signatures, generation range, backup history; of an
 * instance directory, a backup set or one file) and dump (every row as JSON).
 *
 * info only reads files — it never opens (or recovers) an instance; an
 * instance open in another process is asked through its socket.
 */
import { readFile, stat } from 'node:fs/promises';
import { arch, platform } from 'node:os';
import * as path from 'node:path';
import type { Command } from 'commander';
import { JetError, fromFsError } from '../errors.js';
import { crc32cImplementation } from '../checksum/crc32c.js';
import { decodeCheckpoint } from '../format/checkpoint.js';
import { decodeManifest, type Manifest } from '../format/backup-manifest.js';
import { DB_STATE_CLEAN_SHUTDOWN, DB_STATE_DIRTY_SHUTDOWN, type BkInfo, type DbHeader } from '../format/db-header.js';
import type { LogHeader } from '../format/log-header.js';
import { currentLogName } from '../format/log-names.js';
import { nodeFileSystem } from '../io/file-system.js';
import { findSet, readManifest } from '../backup/destination.js';
import { readCheckpointFile } from '../engine/checkpoint-file.js';
import { lockHolder } from '../engine/instance-lock.js';
import { readLogHeader } from '../engine/log-reader.js';
import { requestOverSocket } from '../service/backup-client.js';
import { SOCKET_NAME, type InstanceSummary } from '../service/protocol.js';
import { UsageError, errorJson, writeOut, type Output } from './output.js';
import type { CliContext } from './args.js';
import { fileKind, listInstanceFiles, looksLikeInstance, readDbHeaderFile, type InstanceFiles } from './files.js';
import { accessInstance, type LocalAccess } from './instance-access.js';
import { packageVersion } from './version.js';

const iso = (t: number) => (t > 0 ? new Date(t).toISOString() : null);
const STATES: Record<number, string> = { 1: 'just-created', [DB_STATE_DIRTY_SHUTDOWN]: 'dirty-shutdown', [DB_STATE_CLEAN_SHUTDOWN]: 'clean-shutdown' };

function bk(b: BkInfo) {
  return b.genLow === 0 ? null : { genLow: b.genLow, genHigh: b.genHigh, time: iso(b.timeMark), mark: b.lgposMark };
}

export function dbHeaderJson(h: DbHeader) {
  return {
    state: STATES[h.state] ?? String(h.state), pageSize: h.pageSize, pageCount: h.pageCount, dbtime: h.dbtime,
    dbSignature: h.dbSignature, logSignature: h.logSignature,
    lgposConsistent: h.lgposConsistent, timeConsistent: iso(h.timeConsistent), lgposAttach: h.lgposAttach, timeAttach: iso(h.timeAttach),
    genMinRequired: h.genMinRequired, timeCreate: iso(h.timeCreate),
    bkinfoFullPrev: bk(h.bkinfoFullPrev), bkinfoIncPrev: bk(h.bkinfoIncPrev), bkinfoFullCur: bk(h.bkinfoFullCur),
  };
}

function logHeaderJson(h: LogHeader) {
  return {
    generation: h.generation, logFileSize: h.logFileSize, pageSize: h.pageSize, logSignature: h.logSignature,
    timeCreate: iso(h.timeCreate), timePrevGen: iso(h.timePrevGen), attached: h.attached.map((a) => ({ dbid: a.dbid, name: a.name, dbSignature: a.dbSignature })),
  };
}

export function manifestJson(setDir: string, m: Manifest) {
  return {
    kind: 'backup-set' as const, setDir, instanceDir: m.instanceDir, logSignature: m.logSignature, baseName: m.baseName,
    pageSize: m.pageSize, logFileSize: m.logFileSize, checkpoint: m.checkpoint,
    generations: { low: m.logs[0]!.generation, high: m.logs[m.logs.length - 1]!.generation, count: m.logs.length },
    databases: m.databases.map((d) => ({ name: d.name, dbSignature: d.dbSignature, pages: d.pages, bytes: d.bytes })),
    backups: m.backups.map((b) => ({ type: b.type, startedAt: iso(b.startedAt), finishedAt: iso(b.finishedAt), genLow: b.genLow, genHigh: b.genHigh })),
  };
}

async function instanceInfo(f: InstanceFiles) {
  const holder = await lockHolder(nodeFileSystem, f.dir);
  let live: InstanceSummary | null = null;
  if (holder?.live) {
    const sock = path.join(f.dir, SOCKET_NAME);
    const isSock = await stat(sock).then((s) => s.isSocket(), () => false);
    const who = holder.pid !== null ? `process ${holder.pid} on ${holder.host} since ${holder.time}` : 'another process';
    if (!isSock) {
      throw new JetError('JET_errFileAccessDenied',
        `instance ${f.dir} is open in ${who}, which does not serve backups (no ${SOCKET_NAME}): the holder must call instance.serveBackups() for esebackup to inspect it while it runs; or close the instance`);
    }
    live = await requestOverSocket<InstanceSummary>(sock, { op: 'info' });
  }
  let checkpoint: unknown = null;
  try {
    const c = await readCheckpointFile(nodeFileSystem, f.dir, f.baseName);
    checkpoint = c ? { lgpos: c.lgpos, logSignature: c.logSignature, time: iso(c.time) } : null;
  } catch (e) {
    checkpoint = { error: errorJson(e) };
  }
  let current: LogHeader | null = null;
  let currentError: ReturnType<typeof errorJson> | null = null;
  if (f.hasCurrent) {
    try {
      current = await readLogHeader(nodeFileSystem, path.join(f.dir, currentLogName(f.baseName)));
    } catch (e) {
      currentError = errorJson(e);
    }
  }
  const names = new Set(f.databases);
  for (const a of current?.attached ?? []) names.add(a.name);
  const databases = [];
  for (const name of [...names].sort()) {
    try {
      const { header, bytes } = await readDbHeaderFile(path.join(f.dir, name));
      databases.push({ name, bytes, ...dbHeaderJson(header) });
    } catch (e) {
      databases.push({ name, error: errorJson(e) });
    }
  }
  return {
    kind: 'instance' as const, dir: f.dir, baseName: f.baseName,
    lock: holder ? { pid: holder.pid, host: holder.host, time: holder.time, live: holder.live } : null,
    live, checkpoint,
    logs: {
      archived: f.archived.length > 0 ? { low: f.archived[0]!, high: f.archived[f.archived.length - 1]!, count: f.archived.length } : null,
      current: current ? logHeaderJson(current) : currentError ? { error: currentError } : null,
    },
    databases,
  };
}

async function fileInfo(file: string) {
  const kind = await fileKind(file);
  switch (kind) {
    case 'database': {
      const { header, bytes } = await readDbHeaderFile(file);
      return { kind, file, bytes, ...dbHeaderJson(header) };
    }
    case 'log':
      return { kind, file, ...logHeaderJson(await readLogHeader(nodeFileSystem, file)) };
    case 'checkpoint': {
      const d = decodeCheckpoint(await readFile(file));
      if (!d.ok) throw new JetError('JET_errCheckpointCorrupt', `checkpoint ${file}: ${d.reason}`);
      return { kind, file, lgpos: d.checkpoint.lgpos, logSignature: d.checkpoint.logSignature, time: iso(d.checkpoint.time) };
    }
    case 'manifest': {
      const d = decodeManifest(await readFile(file));
      if (!d.ok) throw new JetError('JET_errPatchFileMissing', `backup manifest ${file} is unusable: ${d.reason}`);
      return { ...manifestJson(path.dirname(file), d.manifest), kind: 'manifest' as const, file };
    }
    default:
      throw new JetError('JET_errInvalidParameter', `${file} is not a database, log, checkpoint or backup manifest (unknown magic number)`);
  }
}

export function buildInfo() {
  return { version: packageVersion(), crc32c: crc32cImplementation(), node: process.version, platform: `${platform()}-${arch()}` };
}

/** The info object as indented "key: value" lines. */
function printTree(out: Output, v: unknown, indent = ''): void {
  if (v === null || typeof v !== 'object') return;
  for (const [k, x] of Object.entries(v)) {
    if (Array.isArray(x)) {
      out.line(`${indent}${k}: ${x.length === 0 ? '(none)' : ''}`);
      x.forEach((item, i) => {
        if (item !== null && typeof item === 'object') {
          const { name, ...rest } = item as { name?: unknown };
          out.line(`${indent}  ${typeof name === 'string' ? `${name}:` : `[${i}]`}`);
          printTree(out, rest, `${indent}    `);
        } else out.line(`${indent}  - ${String(item)}`);
      });
    } else if (x !== null && typeof x === 'object') {
      const keys = Object.keys(x);
      if (keys.length === 2 && 'gen' in x && 'off' in x) out.line(`${indent}${k}: ${(x as { gen: number }).gen}:${(x as { off: number }).off}`);
      else {
        out.line(`${indent}${k}:`);
        printTree(out, x, `${indent}  `);
      }
    } else out.line(`${indent}${k}: ${x === null ? '-' : String(x)}`);
  }
}

async function infoCommand(out: Output, target: string | undefined, f: { build?: boolean }): Promise<void> {
  const build = f.build ? buildInfo() : undefined;
  if (target === undefined) {
    if (!build) throw new UsageError("info needs a path (a backup set, an instance directory or a file), or --build");
    out.result('info', true, { build });
    printTree(out, { build });
    return;
  }
  const abs = path.resolve(target);
  const st = await stat(abs).catch((e: unknown) => { throw fromFsError(e, `info ${abs}`); });
  let info: unknown;
  if (st.isDirectory()) {
    const setDir = await findSet(nodeFileSystem, abs);
    const files = await listInstanceFiles(abs);
    if (setDir && !files.hasCurrent && !files.hasCheckpoint) info = manifestJson(setDir, await readManifest(nodeFileSystem, setDir));
    else if (looksLikeInstance(files)) info = await instanceInfo(files);
    else throw new JetError('JET_errInvalidPath', `${abs} is neither a backup set (no esebackup.manifest in it, new/ or old/) nor an instance directory`);
  } else {
    info = await fileInfo(abs);
  }
  out.result('info', true, { info, ...(build ? { build } : {}) });
  printTree(out, build ? { ...(info as object), build } : info);
}

async function dumpCommand(ctx: CliContext, out: Output, instanceDir: string, f: { db?: string; table?: string }): Promise<void> {
  const a = await accessInstance(instanceDir, 'dump', { allowSocket: false }) as LocalAccess;
  try {
    if (a.recovered) out.note(`instance ${a.dir} was not shut down cleanly: recovery replayed ${a.recovered.generations} generation(s) before the dump`);
    const dbs = f.db === undefined ? a.databases : a.databases.filter((d) => d.name === f.db);
    if (dbs.length === 0) {
      throw new JetError('JET_errFileNotFound', `database ${f.db} is not in instance ${a.dir} (it has: ${a.databases.map((d) => d.name).join(', ') || 'none'})`);
    }
    let found = false;
    for (const db of dbs) {
      for (const table of await db.tables()) {
        if (f.table !== undefined && table !== f.table) continue;
        found = true;
        let n = 0;
        for await (const { key, value } of db.range(table)) {
          if (++n % 1024 === 0) ctx.signal.throwIfAborted();
          await writeOut(`${JSON.stringify({ db: db.name, table, key: key.toString('base64'), value: value.toString('base64') })}\n`);
        }
      }
    }
    if (f.table !== undefined && !found) throw new JetError('JET_errInvalidParameter', `no table ${JSON.stringify(f.table)} in ${dbs.map((d) => d.name).join(', ')}`);
  } finally {
    await a.close();
  }
}

export function registerInspectCommands(program: Command, ctx: CliContext): void {
  program.command('info')
    .description('headers, states, signatures, generation range and backup history of an instance directory, a backup set or one file (.edb, .log, .chk, manifest)')
    .argument('[path]', 'an instance directory, a backup set or a file')
    .option('--build', 'also print the build: version, CRC32C implementation in use, Node version')
    .option('--json', 'print one JSON object instead of text')
    .action((target: string | undefined, f: { build?: boolean; json?: boolean }) => ctx.run('info', f, (out) => infoCommand(out, target, f)));

  program.command('dump')
    .description('every row of every table as JSON lines {db, table, key, value} (key and value base64), in key order; opens the instance (nobody else may have it open)')
    .argument('<instanceDir>', 'the instance directory')
    .option('--db <file>', 'only this database (e.g. main.edb)')
    .option('--table <name>', 'only this table')
    .action((instanceDir: string, f: { db?: string; table?: string }) => ctx.run('dump', {}, (out) => dumpCommand(ctx, out, instanceDir, f)));
}
