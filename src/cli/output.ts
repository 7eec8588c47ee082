/**
 * Everything the CLI prints goes through here:
 *  - `--json`: stdout carries one JSON object per line — events
 *    ({"type":"status",...}, {"type":"note",...}, ...) and a final
 *    {"type":"result",...} — and nothing else; no bars.
 *  - otherwise: human-readable lines on stdout, notes on stderr, and
 *    progress bars on stderr when (and only when) stderr is a terminal.
 *  - errors: one line on stderr, `esebackup: JET_errXxx (-NNN): <message>`
 *    for a JET error, `esebackup: usage error: <message>` for a usage error.
 */
import cliProgress from 'cli-progress';
import type { MultiBar, SingleBar } from 'cli-progress';
import { JetError, fromFsError } from '../errors.js';
import type { BackupProgress } from '../backup/options.js';

/** A usage error found after parsing (bad combination, colliding names): exit code 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

export const EXIT_OK = 0;
export const EXIT_JET = 1;
export const EXIT_USAGE = 2;
/** Interrupted (SIGINT), the shell's convention. */
export const EXIT_INTERRUPTED = 130;

/** One line, whatever the message holds. */
function oneLine(s: string): string {
  return s.replace(/\s*\n\s*/g, ' ').trim();
}

/** A thrown value as a JetError: JetErrors as they are, file-system errors mapped; undefined for anything else (a bug). */
export function asJetError(e: unknown): JetError | undefined {
  if (e instanceof JetError) return e;
  if (e && typeof e === 'object' && typeof (e as NodeJS.ErrnoException).code === 'string' && typeof (e as NodeJS.ErrnoException).syscall === 'string') {
    return fromFsError(e, 'esebackup');
  }
  return undefined;
}

function internalMessage(e: unknown): string {
  return oneLine((e as Error)?.stack?.split('\n').slice(0, 2).join(' ') ?? String(e));
}

/** The stderr line for an error, without the newline. */
export function errorLine(e: unknown): string {
  if (e instanceof UsageError) return `esebackup: usage error: ${oneLine(e.message)}`;
  const j = asJetError(e);
  if (!j) return `esebackup: internal error: ${internalMessage(e)}`;
  return `esebackup: ${j.errName} (${j.err}): ${oneLine(j.detail)}`;
}

/** JSON of an error, for --json objects (err and errName null for an internal error). */
export function errorJson(e: unknown): { err: number | null; errName: string | null; message: string } {
  const j = asJetError(e);
  if (!j) return { err: null, errName: null, message: internalMessage(e) };
  return { err: j.err, errName: j.errName, message: j.detail };
}

/** The exit code for an error: 2 for usage, 1 for everything else. */
export function exitCodeOf(e: unknown): number {
  return e instanceof UsageError ? EXIT_USAGE : EXIT_JET;
}

function replacer(_key: string, v: unknown): unknown {
  if (v instanceof Error) return errorJson(v);
  if (typeof v === 'bigint') return v.toString();
  return v;
}

// ---- figures --------------------------------------------------------------------

export function fmtBytes(n: number): string {
  if (n >= 2 ** 30) return `${(n / 2 ** 30).toFixed(2)} GiB`;
  if (n >= 2 ** 20) return `${(n / 2 ** 20).toFixed(1)} MiB`;
  if (n >= 2 ** 10) return `${(n / 2 ** 10).toFixed(1)} KiB`;
  return `${n} B`;
}

export function fmtMs(ms: number): string {
  return ms >= 10_000 ? `${(ms / 1000).toFixed(1)} s` : ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${Math.round(ms)} ms`;
}

/** Decimal GB per second, as storage people quote it. */
export function gbPerSec(bytes: number, ms: number): number {
  return ms > 0 ? bytes / 1e9 / (ms / 1000) : 0;
}

/** GB/s, or MB/s below 1 GB/s (small backups are dominated by fixed costs, and 0.00 GB/s says nothing). */
export function fmtRate(bytes: number, ms: number): string {
  const g = gbPerSec(bytes, ms);
  return g >= 1 ? `${g.toFixed(2)} GB/s` : `${(g * 1000).toFixed(g >= 0.1 ? 0 : 1)} MB/s`;
}

/** Columns padded to their widest cell; the last column is not padded. */
export function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const fmt = (r: string[]) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  ').trimEnd();
  return [fmt(header), fmt(widths.map((w) => '-'.repeat(w))), ...rows.map(fmt)].join('\n');
}

// ---- progress bars ------------------------------------------------------------------

export interface Bar {
  /** A JET_snpBackup / JET_snpRestore status update. */
  status(snt: number, p?: BackupProgress): void;
  /** Label the bar with a phase of our own (opening, verifying, ...). */
  phase(name: string): void;
  done(ok: boolean): void;
}

const NO_BAR: Bar = { status() {}, phase() {}, done() {} };

class TtyBar implements Bar {
  private readonly t0 = performance.now();
  private lastTotal = 1;
  private pages: string | undefined;

  constructor(private readonly bar: SingleBar, private readonly name: string) {}

  status(_snt: number, p?: BackupProgress): void {
    if (!p) return;
    const total = Math.max(p.cunitTotal, 1);
    if (total !== this.lastTotal) {
      this.bar.setTotal(total);
      this.lastTotal = total;
    }
    const ms = performance.now() - this.t0;
    if (p.pagesTotal) this.pages = `${p.pagesDone ?? 0}/${p.pagesTotal} pages`;
    this.bar.update(p.cunitDone, {
      name: this.name,
      phase: p.phase ?? (p.err ? 'failed' : 'copy'),
      pages: this.pages ?? fmtBytes(p.cunitDone),
      rate: fmtRate(p.cunitDone, ms),
    });
  }

  phase(name: string): void {
    this.bar.update({ phase: name });
  }

  done(ok: boolean): void {
    if (ok) this.bar.update(this.lastTotal, { phase: 'done' });
    else this.bar.update({ phase: 'FAILED' });
    this.bar.stop();
  }
}

export class Output {
  readonly json: boolean;
  /** Progress bars: stderr is a terminal and not --json. */
  readonly bars: boolean;
  private multi: MultiBar | null = null;
  private nameWidth = 8;

  constructor(options: { json?: boolean } = {}) {
    this.json = options.json === true;
    this.bars = !this.json && process.stderr.isTTY === true;
  }

  /** A --json event (one line on stdout); nothing otherwise. */
  event(type: string, fields: Record<string, unknown>): void {
    if (this.json) process.stdout.write(`${JSON.stringify(Object.assign({ type }, fields, { type }), replacer)}\n`);
  }

  /** The final --json object; human output prints its own summary instead. */
  result(command: string, ok: boolean, fields: Record<string, unknown>): void {
    if (this.json) process.stdout.write(`${JSON.stringify(Object.assign({ type: 'result', command, ok }, fields, { type: 'result', command, ok }), replacer)}\n`);
  }

  /** A human line on stdout (not with --json). */
  line(text = ''): void {
    if (this.json) return;
    if (this.multi) this.multi.log(`${text}\n`);
    else process.stdout.write(`${text}\n`);
  }

  /** Something the operator should know (recovery ran, ...): stderr, or a note event with --json. */
  note(text: string, fields: Record<string, unknown> = {}): void {
    if (this.json) this.event('note', { message: text, ...fields });
    else if (this.multi) this.multi.log(`esebackup: ${text}\n`);
    else process.stderr.write(`esebackup: ${text}\n`);
  }

  /** Widen the name column of the bars to fit these names. */
  names(names: string[]): void {
    this.nameWidth = Math.min(32, Math.max(this.nameWidth, ...names.map((n) => n.length)));
  }

  /** A progress bar (a no-op off a terminal or with --json). */
  bar(name: string): Bar {
    if (!this.bars) return NO_BAR;
    this.multi ??= new cliProgress.MultiBar({
      stream: process.stderr,
      format: `{name} {phase} [{bar}] {percentage}% | {pages} | {rate} | ETA {eta_formatted}`,
      hideCursor: true, clearOnComplete: false, stopOnComplete: false, etaBuffer: 30, fps: 10,
      barsize: 24, autopadding: true,
    }, cliProgress.Presets.shades_classic);
    const label = name.length > this.nameWidth ? `…${name.slice(-(this.nameWidth - 1))}` : name.padEnd(this.nameWidth);
    const b = this.multi.create(1, 0, { name: label, phase: 'starting'.padEnd(7), pages: '', rate: '' });
    return new TtyBar(b, label);
  }

  /** Stop the bars (call before the summary and before exiting). */
  stopBars(): void {
    this.multi?.stop();
    this.multi = null;
  }
}

/** Resolve once everything written to stdout and stderr so far is handed to the OS. */
export async function flushOutput(): Promise<void> {
  if (!stdoutClosed) await new Promise<void>((r) => process.stdout.write('', () => r()));
  await new Promise<void>((r) => process.stderr.write('', () => r()));
}

/** Thrown by writeOut once the reader of stdout has gone away (esebackup dump | head): the command stops quietly. */
export class OutputClosedError extends Error {
  constructor() {
    super('stdout was closed by its reader');
    this.name = 'OutputClosedError';
  }
}

let stdoutClosed = false;
const closedWaiters: (() => void)[] = [];

/** main.ts: stdout got EPIPE. */
export function markStdoutClosed(): void {
  stdoutClosed = true;
  for (const w of closedWaiters.splice(0)) w();
}

/** Write to stdout, waiting when the pipe is full (dump's output can be large); throws OutputClosedError once nobody reads. */
export async function writeOut(text: string): Promise<void> {
  if (stdoutClosed) throw new OutputClosedError();
  if (!process.stdout.write(text)) {
    await new Promise<void>((r) => {
      closedWaiters.push(r);
      process.stdout.once('drain', () => r());
    });
    if (stdoutClosed) throw new OutputClosedError();
  }
}
