/**
 * Which generations recovery needs, and whether they form one chain.
 * Pure functions: the callers do the I/O.
 */
import { JetError } from '../errors.js';
import type { LogHeader } from '../format/log-header.js';
import type { LogListing } from './log-files.js';

export interface ChainPlan {
  /** Generations to read, ascending, each present on disk. */
  gens: number[];
  /** The generation held by <base>.log, if that file exists. */
  currentGen: number | undefined;
  /** True when <base>.log is missing because a roll was interrupted (the tmp file exists). */
  rollInterrupted: boolean;
}

/**
 * Plan the generations from the checkpoint's generation to the newest.
 * `currentGen` is the generation in <base>.log's header (undefined if absent).
 */
export function planChain(listing: LogListing, checkpointGen: number, currentGen: number | undefined): ChainPlan {
  const archived = new Set(listing.archived);
  const lastArchived = listing.archived.length > 0 ? listing.archived[listing.archived.length - 1]! : undefined;
  if (currentGen !== undefined && lastArchived !== undefined && currentGen <= lastArchived) {
    throw new JetError('JET_errInvalidLogSequence',
      `the current log holds generation ${currentGen}, but generation ${lastArchived} is already finished`);
  }
  if (currentGen === undefined && !listing.hasTmp) {
    throw new JetError('JET_errMissingLogFile',
      `the current log file is missing (newest finished generation: ${lastArchived ?? 'none'})`);
  }
  const top = currentGen ?? lastArchived;
  if (top === undefined || checkpointGen > top) {
    throw new JetError('JET_errMissingLogFile',
      `the checkpoint is in generation ${checkpointGen} but the newest log is generation ${top ?? 'none'}`);
  }
  const gens: number[] = [];
  for (let g = checkpointGen; g <= top; g++) {
    const present = g === currentGen || archived.has(g);
    if (!present) {
      if (g === checkpointGen) {
        throw new JetError('JET_errMissingPreviousLogFile', `log generation ${g}, where the checkpoint is, is missing`);
      }
      throw new JetError('JET_errRequiredLogFilesMissing', `log generation ${g}, needed by recovery, is missing`);
    }
    gens.push(g);
  }
  return { gens, currentGen, rollInterrupted: currentGen === undefined };
}

/** `next` must be the generation right after `prev`, of the same sequence. */
export function checkFollows(prev: LogHeader, next: LogHeader, nextPath: string): void {
  if (next.logSignature !== prev.logSignature) {
    throw new JetError('JET_errBadLogSignature',
      `log ${nextPath} (generation ${next.generation}) belongs to another log sequence`);
  }
  if (next.generation !== prev.generation + 1 || next.timePrevGen !== prev.timeCreate) {
    throw new JetError('JET_errInvalidLogSequence',
      `log ${nextPath} (generation ${next.generation}) does not follow generation ${prev.generation}`);
  }
}
