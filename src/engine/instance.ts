/**
 * An instance: one directory of databases, their log and checkpoint, owned by
 * one process (ESE's JetInit .. JetTerm).
 *
 * Every operation checks the state first (instance-state.ts) and fails with
 * the matching JetError.
 *
 * CONCURRENCY NOTES
 * - Writers: one transaction at a time, FIFO (`writerTail`). The slot is
 *   released when the commit's records are appended, before the log flush.
 * - Attach: openDatabase calls are serialized (`attachTail`).
 * - Log: LogWriter owns its flush loop; see log-writer.ts.
 * - Checkpoint: one at a time; see checkpointer.ts.
 * - Log pins: a pinned generation and everything after it survive both
 *   circular deletion and truncateLogs() until the pin is released.
 */
import { EventEmitter } from 'node:events';
import * as path from 'node:path';
import { JetError, fromFsError } from '../errors.js';
import { DB_STATE_CLEAN_SHUTDOWN } from '../format/db-header.js';
import type { AttachEntry } from '../format/log-header.js';
import { REC_TERM } from '../format/log-record.js';
import { LGPOS_ZERO, type Lgpos } from '../format/lgpos.js';
import { writeCheckpointFile } from './checkpoint-file.js';
import { Checkpointer } from './checkpointer.js';
import { Database, checkDbName } from './database.js';
import { attachFile } from './database-attach.js';
import { InstanceLock } from './instance-lock.js';
import { ensureDir, logDirOf, startLog } from './instance-startup.js';
import { stateError, type InstanceState } from './instance-state.js';
import { listLogs } from './log-files.js';
import { LogRetention } from './log-retention.js';
import { LogWriter, type RecordToAppend } from './log-writer.js';
import { PageCache, type Image } from './page-cache.js';
import { resolveParams, type InstanceParams, type ResolvedParams } from './params.js';
import type { RecoveryStats } from './recovery.js';
import { Transaction, type CommitOptions, type TxHost } from './transaction.js';
import { EventLog, eventLogPath } from './event-log.js';
import { registerInstance } from './instance-registry.js';
import { runBackup } from '../backup/backup.js';
import type { BackupOptions, BackupResult, StatusCallback } from '../backup/options.js';
import { serveBackups, type BackupServer } from '../service/backup-server.js';


export interface LogInfo {
  logSignature: string;
  checkpoint: Lgpos;
  /** Where the next record goes. */
  tip: Lgpos;
  /** Everything before this is durable. */
  durable: Lgpos;
  currentGeneration: number;
  /** Lowest generation still on disk. */
  lowestGeneration: number;
}

export interface InstanceEvent {
  type: 'roll' | 'checkpoint' | 'truncate' | 'checkpoint-failed' | 'fatal' | 'recovered' | 'backup-begin' | 'backup-file' | 'backup-end';
  [detail: string]: unknown;
}

const MAX_LOG_BACKLOG = 16 * 1024 * 1024;
/** Events also appended to the event log file (checkpoints and rolls are too frequent to be worth a line). */
const LOGGED_EVENTS = new Set<InstanceEvent['type']>(['truncate', 'checkpoint-failed', 'fatal', 'recovered', 'backup-begin', 'backup-file', 'backup-end']);

export class Instance extends EventEmitter {
  readonly params: ResolvedParams;
  private stateNow: InstanceState = 'initializing';
  private fatal: JetError | null = null;
  log: LogWriter | null = null;
  readonly cache: PageCache;
  logSignature = '';
  private checkpointLgpos: Lgpos = LGPOS_ZERO;
  private readonly checkpointer: Checkpointer;
  private readonly dbs = new Map<number, Database>();
  private writerTail: Promise<void> = Promise.resolve();
  private attachTail: Promise<unknown> = Promise.resolve();
  /** The database being attached, from its ATTACH record until it is in `dbs`. */
  private attaching: AttachEntry | null = null;
  private readonly retention: LogRetention;
  private txid = 0;
  /** What crash recovery did at open, or null when the instance was new or logging is off. */
  recovery: RecoveryStats | null = null;
  /** @internal True while a backup runs (one at a time; src/backup/backup.ts). */
  backupActive = false;
  private readonly eventLog: EventLog;
  private readonly unregister: () => void;
  private backupServer: Promise<BackupServer> | null = null;

  private constructor(params: ResolvedParams, private readonly lock: InstanceLock) {
    super();
    this.params = params;
    this.cache = new PageCache(params.cacheSizePages);
    this.checkpointer = new Checkpointer(this);
    this.retention = new LogRetention(logDirOf(params));
    this.eventLog = new EventLog(params.io, eventLogPath(params.systemPath, params.baseName));
    this.unregister = registerInstance(this);
  }

  /** Open (and recover, if it was not shut down cleanly) the instance in `dir`. */
  static async open(dir: string, params: InstanceParams = {}): Promise<Instance> {
    const p = resolveParams(dir, params);
    for (const d of new Set([p.dir, p.systemPath, p.logFilePath])) await ensureDir(p, d);
    const lock = await InstanceLock.acquire(p.io, p.dir);
    const inst = new Instance(p, lock);
    try {
      if (p.recovery) {
        const s = await startLog(p);
        inst.logSignature = s.logSignature;
        inst.checkpointLgpos = s.checkpoint;
        inst.recovery = s.recovery;
        inst.log = new LogWriter({
          dir: logDirOf(p), logFileSize: p.logFileSize, pageSize: p.pageSize, logSignature: s.logSignature,
          gen: s.gen, file: s.file, off: s.off, currentFileSize: s.fileSize, timeCreate: s.timeCreate,
          attached: () => inst.attachedEntries(),
          onRolled: (gen) => inst.rolled(gen), onFatal: (e) => inst.becomeUnavailable(e),
          lazyFlushDelayMs: p.lazyFlushDelayMs,
        });
        if (s.needsTerm) await inst.log.flush(inst.log.append([{ type: REC_TERM, payload: Buffer.alloc(0) }]));
        if (s.recovery) inst.emitEvent({ type: 'recovered', ...s.recovery });
      }
      inst.stateNow = 'running';
      return inst;
    } catch (e) {
      inst.unregister();
      await inst.log?.close();
      await lock.release();
      throw fromFsError(e, `opening instance ${p.dir}`);
    }
  }

  get state(): InstanceState { return this.stateNow; }

  /** Throws the JetError that matches the state, unless running. */
  assertUsable(): void {
    if (this.stateNow !== 'running') throw stateError(this.stateNow, this.params.dir, this.fatal);
  }

  // ---- databases ------------------------------------------------------------

  /** Attach a database in the instance directory, creating it if asked. Attaching twice gives the same handle. */
  openDatabase(name: string, options: { create?: boolean } = {}): Promise<Database> {
    const run = this.attachTail.then(() => this.attach(name, options.create ?? false));
    this.attachTail = run.catch(() => undefined);
    return run;
  }

  private async attach(name: string, create: boolean): Promise<Database> {
    this.assertUsable();
    checkDbName(name);
    for (const d of this.dbs.values()) if (d.name === name) return d;
    const file = path.join(this.params.dir, name);
    const exists = await this.params.io.exists(file);
    if (!exists && !create) throw new JetError('JET_errFileNotFound', `database ${file} does not exist`);
    let dbid = 1;
    while (this.dbs.has(dbid)) dbid++;
    if (dbid > 0xffff) throw new JetError('JET_errInvalidParameter', 'too many attached databases');
    const f = await attachFile({
      io: this.params.io, file, name, dbid, exists, pageSize: this.params.pageSize, log: this.log, logSignature: this.logSignature,
      genMinRequired: this.checkpointLgpos.gen, attaching: (e) => { this.attaching = e; },
    });
    const db = new Database(name, dbid, f, this);
    this.dbs.set(dbid, db);
    return db;
  }

  databases(): Database[] {
    return [...this.dbs.values()];
  }

  /**
   * The attach list a new log generation's header carries: every attached
   * database, and one being attached whose ATTACH record is already in the
   * log (a roll in that moment must not leave it out, or recovery from the
   * new generation would not know it).
   */
  private attachedEntries(): AttachEntry[] {
    const list = [...this.dbs.values()].map((d) => ({ dbid: d.dbid, dbSignature: d.signature, name: d.name }));
    if (this.attaching) list.push(this.attaching);
    return list;
  }

  /**
   * The committed image of a page, through the cache: the newest, or the one
   * a snapshot opened at commit sequence `asOf` sees.
   */
  async readCommitted(db: Database, pgno: number, asOf = Infinity): Promise<Image> {
    for (;;) {
      const hit = this.cache.get(db.dbid, pgno);
      if (hit) return PageCache.imageAt(hit, asOf);
      const epoch = db.writeEpoch;
      const { page, initialized } = await db.file.readPage(pgno);
      // The checkpoint wrote this file while we read: our image may predate a
      // write whose frame was evicted since. Read again.
      if (db.writeEpoch !== epoch && !this.cache.get(db.dbid, pgno)) continue;
      return PageCache.imageAt(this.cache.addClean(db.dbid, pgno, page, initialized), asOf);
    }
  }

  /**
   * Read as of now: pass `seq` to readPage to see the databases as they were
   * at this moment, whatever commits later. Close it when done; an open
   * snapshot keeps replaced page images in memory.
   */
  openSnapshot(): { seq: number; close: () => void } {
    this.assertUsable();
    return this.cache.openSnapshot();
  }

  // ---- transactions -------------------------------------------------------

  /** Start a page-level transaction; waits (FIFO) while another writer is active. */
  async beginTransaction(): Promise<Transaction> {
    this.assertUsable();
    let release!: () => void;
    const prev = this.writerTail;
    this.writerTail = new Promise<void>((r) => { release = r; });
    await prev;
    try {
      this.assertUsable();
    } catch (e) {
      release();
      throw e;
    }
    let released = false;
    const host: TxHost = {
      assertUsable: () => this.assertUsable(),
      readCommitted: (db, pgno) => this.readCommitted(db, pgno),
      nextCommitSeq: () => this.cache.nextCommitSeq(),
      appendRecords: (records) => this.appendRecords(records),
      install: (db, pgno, page, begin, seq, base) => this.cache.install(db.dbid, pgno, page, begin ?? LGPOS_ZERO, seq, base),
      afterCommit: (end, durable) => this.afterCommit(end, durable),
      releaseWriter: () => { if (!released) { released = true; release(); } },
      nextTxid: () => ++this.txid,
    };
    return new Transaction(host);
  }

  /** Run `fn` in a transaction: commit when it resolves, roll back when it throws. */
  async transaction<T>(fn: (tx: Transaction) => Promise<T>, options?: CommitOptions): Promise<T> {
    if (typeof fn !== 'function') throw new JetError('JET_errInvalidParameter', 'transaction needs a function');
    const tx = await this.beginTransaction();
    let result: T;
    try {
      result = await fn(tx);
    } catch (e) {
      tx.rollback();
      throw e;
    }
    if (tx.active) await tx.commit(options);
    return result;
  }

  private appendRecords(records: RecordToAppend[]): { begin: Lgpos; end: Lgpos } | null {
    if (!this.log) return null;
    const begin = this.log.tip;
    const end = this.log.append(records);
    return { begin, end };
  }

  private async afterCommit(end: Lgpos | null, durable: boolean): Promise<void> {
    const log = this.log;
    if (end && log) {
      if (durable) await log.flush(end);
      else if (log.backlog > MAX_LOG_BACKLOG) await log.flush(end);
      else log.scheduleLazyFlush();
    }
    const dirty = this.cache.dirtyCount;
    // The commit is done (and durable if asked): a checkpoint failure here is
    // the checkpoint's, reported as an event, never the commit's.
    if (dirty >= this.params.cacheSizePages) {
      await this.checkpointer.relieve().catch((e) => this.emitEvent({ type: 'checkpoint-failed', error: e }));
    }
    else if (dirty >= this.params.checkpointDirtyPages) this.checkpointer.nudge((e) => this.emitEvent({ type: 'checkpoint-failed', error: e }));
  }

  // ---- log and checkpoint ---------------------------------------------------

  private requireLog(what: string): LogWriter {
    this.assertUsable();
    if (!this.log) throw new JetError('JET_errLoggingDisabled', `${what}: logging is disabled for instance ${this.params.dir}`);
    return this.log;
  }

  /** Write every committed change to the database files and move the checkpoint up to the log tip. */
  async checkpoint(): Promise<void> {
    this.assertUsable();
    await this.checkpointer.run();
  }

  /** Finish the current log generation now; resolves to its number once the next one has begun. */
  async rollLog(): Promise<number> {
    return this.requireLog('rollLog').roll();
  }

  async getLogInfo(): Promise<LogInfo> {
    const log = this.requireLog('getLogInfo');
    const listing = await listLogs(logDirOf(this.params));
    return {
      logSignature: this.logSignature, checkpoint: this.checkpointLgpos, tip: log.tip, durable: log.durable,
      currentGeneration: log.currentGeneration, lowestGeneration: listing.archived[0] ?? log.currentGeneration,
    };
  }

  /** @internal The checkpoint, and a pin on its generation taken in the same step. */
  pinFromCheckpoint(): { checkpoint: Lgpos; release: () => void } {
    const checkpoint = this.checkpointLgpos;
    return { checkpoint, release: this.pinLogs(checkpoint.gen) };
  }

  /** @internal Wait for attaches in flight and hold later ones until the returned function is called. */
  holdAttaches(): Promise<() => void> {
    let release!: () => void;
    const held = new Promise<void>((r) => { release = r; });
    const ready = this.attachTail.then(() => undefined);
    this.attachTail = ready.then(() => held);
    return ready.then(() => release);
  }

  // ---- backup -----------------------------------------------------------------

  /**
   * Back up every attached database and the logs needed to restore them
   * (JetBackupInstance): full, incremental (JET_bitBackupIncremental) or
   * full built aside and swapped in (JET_bitBackupAtomic); a null path only
   * truncates logs. Rejects with a JetError; see src/backup/backup.ts.
   */
  backup(dir: string | null, grbit = 0, status?: StatusCallback, options?: BackupOptions): Promise<BackupResult> {
    return runBackup(this, dir, grbit, status, options);
  }

  /**
   * Let other processes (the esebackup CLI) back this instance up while it
   * runs: listen on <dir>/esebackup.sock (owner-only) until close().
   * Resolves to the socket's path. See src/service/backup-server.ts.
   */
  async serveBackups(options: { socketPath?: string } = {}): Promise<string> {
    this.requireLog('serveBackups');
    // The promise is kept before it settles: concurrent calls share one server, and close() finds it.
    this.backupServer ??= serveBackups(this, options.socketPath);
    const server = this.backupServer;
    server.catch(() => { if (this.backupServer === server) this.backupServer = null; });
    return (await server).path;
  }

  /** Keep generation `fromGen` and later on disk until the returned function is called. */
  pinLogs(fromGen: number): () => void {
    this.requireLog('pinLogs');
    return this.retention.pin(fromGen);
  }

  /**
   * Delete finished generations below `belowGen`, oldest first — never one
   * that crash recovery (the checkpoint) or a pin still needs. Resolves to
   * the generations deleted.
   */
  async truncateLogs(belowGen: number): Promise<number[]> {
    this.requireLog('truncateLogs');
    return this.deleteGenerationsBelow(belowGen);
  }

  private async deleteGenerationsBelow(belowGen: number): Promise<number[]> {
    const deleted = await this.retention.deleteBelow(belowGen, this.checkpointLgpos.gen);
    if (deleted.length > 0) this.emitEvent({ type: 'truncate', generations: deleted });
    return deleted;
  }

  /** @internal Checkpointer callback: <base>.chk now says `lgpos`. */
  async checkpointed(lgpos: Lgpos): Promise<void> {
    this.checkpointLgpos = lgpos;
    this.emitEvent({ type: 'checkpoint', lgpos });
    if (this.params.circularLog) await this.deleteGenerationsBelow(lgpos.gen);
  }

  private rolled(gen: number): void {
    this.emitEvent({ type: 'roll', generation: gen });
    // A finished generation is the natural moment to let the checkpoint (and,
    // with circular logging, the deletion of old generations) catch up, once
    // the log since the checkpoint is deeper than checkpointDepth.
    const depth = (gen + 1 - this.checkpointLgpos.gen) * this.params.logFileSize;
    if (depth > this.params.checkpointDepth) {
      this.checkpointer.nudge((e) => this.emitEvent({ type: 'checkpoint-failed', error: e }));
    }
  }

  private becomeUnavailable(e: JetError): void {
    this.fatal = e;
    if (this.stateNow === 'running' || this.stateNow === 'stopped') this.stateNow = 'unavailable';
    this.emitEvent({ type: 'fatal', error: e });
  }

  /** @internal Emit `e` to listeners and, for the kinds operators need, append it to the event log file. */
  emitEvent(e: InstanceEvent): void {
    if (LOGGED_EVENTS.has(e.type)) this.eventLog.append({ ...e, instance: this.params.dir });
    try {
      this.emit('event', e);
    } catch (err) {
      // A listener's bug must not break what the event reports (a backup stuck "in progress",
      // a committed backup reported failed): it becomes a process warning instead.
      process.emitWarning(`an instance 'event' listener threw on ${e.type}: ${(err as Error)?.message ?? String(err)}`, 'EsebackupListenerWarning');
    }
  }

  /** @internal Resolves when every event so far is in the event log file. */
  flushEventLog(): Promise<void> {
    return this.eventLog.flush();
  }

  // ---- shutdown -------------------------------------------------------------

  /** Refuse new work (JET_errClientRequestToStopJetService); close() still shuts down. */
  stopService(): void {
    this.assertUsable();
    this.stateNow = 'stopped';
  }

  /**
   * Clean shutdown: wait for the active writer, write every page, log TERM,
   * mark the databases clean, and release the directory. After a fatal log
   * failure the databases stay dirty, for recovery at the next open.
   */
  async close(): Promise<void> {
    if (this.stateNow === 'closed' || this.stateNow === 'terminating') return;
    const clean = this.stateNow !== 'unavailable';
    this.stateNow = 'terminating';
    try {
      await this.backupServer?.then((s) => s.close(), () => undefined);
      await this.writerTail;
      await this.attachTail;
      if (clean) await this.shutDownCleanly();
    } finally {
      await this.log?.close();
      for (const db of this.dbs.values()) {
        db.open = false;
        await db.file.close().catch(() => undefined);
      }
      this.dbs.clear();
      this.stateNow = 'closed';
      this.unregister();
      await this.eventLog.flush();
      await this.lock.release();
    }
  }

  private async shutDownCleanly(): Promise<void> {
    await this.checkpointer.run();
    let end = LGPOS_ZERO;
    if (this.log) {
      end = this.log.append([{ type: REC_TERM, payload: Buffer.alloc(0) }]);
      await this.log.flush(end);
    }
    for (const db of this.dbs.values()) {
      await db.file.updateHeader((h) => ({
        ...h, state: DB_STATE_CLEAN_SHUTDOWN, dbtime: db.dbtime, pageCount: db.pageCount,
        lgposConsistent: end, timeConsistent: Date.now(),
      }));
    }
    if (this.log) {
      const p = this.params;
      await writeCheckpointFile(p.io, p.systemPath, p.baseName, { lgpos: end, logSignature: this.logSignature, time: Date.now() });
      this.checkpointLgpos = end;
    }
  }
}
