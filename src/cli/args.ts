/**
 * Option-value parsers for commander: each returns the value or throws
 * commander's InvalidArgumentError, which commander reports as a usage
 * error (exit code 2). Plus the context every command runs in.
 */
import { InvalidArgumentError } from 'commander';
import type { Output } from './output.js';

/** What main.ts gives every command. */
export interface CliContext {
  /** Aborted on the first SIGINT / SIGTERM. */
  readonly signal: AbortSignal;
  /**
   * Run a command body: makes its Output, prints the error line (and, with
   * --json, a final error result) if it throws, and records the exit code it
   * returns (0 when it returns nothing).
   */
  run(command: string, options: { json?: boolean }, body: (out: Output) => Promise<number | void>): Promise<void>;
}

/** An integer option in [lo, hi]. */
export function intIn(name: string, lo: number, hi: number): (v: string) => number {
  return (v: string) => {
    const n = Number(v);
    if (!/^\s*\d+\s*$/.test(v) || !Number.isSafeInteger(n) || n < lo || n > hi) {
      throw new InvalidArgumentError(`${name} must be an integer from ${lo} to ${hi}.`);
    }
    return n;
  };
}

const UNITS: Record<string, number> = {
  '': 1, k: 1e3, m: 1e6, g: 1e9, t: 1e12, ki: 2 ** 10, mi: 2 ** 20, gi: 2 ** 30, ti: 2 ** 40,
};

/** Bytes (per second): 200000000, 200M, 200MB, 1.5G, 64MiB, 200M/s (k/M/G/T are decimal, Ki/Mi/Gi/Ti binary). */
export function parseBytes(v: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([kmgt]i?)?b?(?:\/s)?\s*$/i.exec(v);
  const mult = m ? UNITS[(m[2] ?? '').toLowerCase()] : undefined;
  if (!m || mult === undefined) throw new InvalidArgumentError('expected bytes per second, e.g. 200000000, 200M or 64MiB.');
  const n = Math.round(Number(m[1]) * mult);
  if (!Number.isSafeInteger(n)) throw new InvalidArgumentError('too large.');
  return n;
}

/** --up-to: a log generation (a positive integer) or a time (anything Date.parse reads, e.g. 2025-01-31T12:00:00Z). */
export function parseUpTo(v: string): number | Date {
  if (/^\s*\d+\s*$/.test(v)) {
    const g = Number(v);
    if (!Number.isSafeInteger(g) || g < 1 || g > 0xffffffff) throw new InvalidArgumentError('a generation is an integer from 1 to 4294967295.');
    return g;
  }
  const t = Date.parse(v);
  if (!Number.isFinite(t)) throw new InvalidArgumentError('expected a log generation number or a date/time such as 2025-01-31T12:00:00Z.');
  return new Date(t);
}
