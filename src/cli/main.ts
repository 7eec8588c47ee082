#!/usr/bin/env node
/**
 * esebackup: the command-line front door (backup, bulk, restore, verify,
 * truncate-logs, info, dump, demo).
 *
 * Argument parsing is commander's and progress bars are cli-progress's: both
 * are the standard, long-tested tools for this in Node and do the job better
 * than hand-written parsing and bars would (help text, suggestions for typos,
 * strict unknown-option and excess-argument errors; terminal redraw, ETA).
 *
 * Exit codes: 0 success; 1 a JET error (stderr: one line
 * `esebackup: JET_errXxx (-NNN): <message>`), including verification that
 * found problems and a bulk run in which any instance failed; 2 a usage error
 * (`esebackup: usage error: ...`); 130 interrupted (SIGINT / SIGTERM).
 */
import { Command, CommanderError } from 'commander';
import type { CliContext } from './args.js';
import { registerBackupCommands } from './backup-commands.js';
import { registerDemoCommand } from './demo.js';
import { registerInspectCommands } from './inspect-commands.js';
import { JetError } from '../errors.js';
import {
  EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE, Output, OutputClosedError, errorJson, errorLine, exitCodeOf, flushOutput, markStdoutClosed,
} from './output.js';
import { registerRestoreCommands } from './restore-commands.js';
import { packageVersion } from './version.js';

/** "error: unknown option '--jsn'\n(Did you mean --json?)\n" -> one line. */
function usageLine(str: string): string {
  const msg = str.replace(/^error:\s*/i, '').replace(/\s*\n\s*/g, ' ').trim();
  return `esebackup: usage error: ${msg} (see esebackup --help)\n`;
}

const HELP_AFTER = `
Instances opened by another process are reached through <dir>/esebackup.sock,
which the application opens with instance.serveBackups(); an instance nobody
has open is opened (and recovered, if needed) by esebackup itself.

Exit codes: 0 ok, 1 JET error (one line on stderr: esebackup: JET_errXxx (-NNN): message),
2 usage error, 130 interrupted. --json: one JSON object per line on stdout
(events, then a final {"type":"result",...}), nothing else; no progress bars.

Examples:
  esebackup backup /var/lib/app/db /backups/app
  esebackup backup /var/lib/app/db /backups/app --incremental --json
  esebackup bulk --dest /backups --concurrency 4 /srv/inst/*
  esebackup verify /backups/app --drill
  esebackup restore /backups/app /var/lib/app/restored --up-to 2025-01-31T12:00:00Z
`;

export function buildProgram(ctx: CliContext): Command {
  const program = new Command();
  program
    .name('esebackup')
    .description('Online, verified, parallel backups of esebackup instances.')
    .version(packageVersion(), '-V, --version', 'print the version')
    .exitOverride()
    .configureOutput({ outputError: (str, write) => write(usageLine(str)) })
    .showSuggestionAfterError(true)
    .addHelpText('after', HELP_AFTER);
  registerBackupCommands(program, ctx);
  registerRestoreCommands(program, ctx);
  registerInspectCommands(program, ctx);
  registerDemoCommand(program, ctx);
  return program;
}

/** Run the CLI on `argv` (process.argv form); resolves to the exit code. */
export async function main(argv: string[]): Promise<number> {
  const abort = new AbortController();
  let exitCode = EXIT_OK;
  let interrupted = false;
  const onSignal = (sig: NodeJS.Signals) => {
    if (interrupted) process.exit(EXIT_INTERRUPTED); // a second ^C: stop waiting for the cleanup
    interrupted = true;
    process.stderr.write(`esebackup: ${sig}: stopping (the backup in progress cleans up what it wrote)\n`);
    abort.abort(new JetError('errBackupAbortByCaller', `interrupted by ${sig}`));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const ctx: CliContext = {
    signal: abort.signal,
    async run(command, options, body) {
      const out = new Output(options);
      try {
        const code = (await body(out)) ?? EXIT_OK;
        out.stopBars();
        exitCode = Math.max(exitCode, code);
      } catch (e) {
        out.stopBars();
        if (e instanceof OutputClosedError) return;
        process.stderr.write(`${errorLine(e)}\n`);
        out.result(command, false, { error: errorJson(e) });
        exitCode = Math.max(exitCode, exitCodeOf(e));
      }
    },
  };
  try {
    await buildProgram(ctx).parseAsync(argv);
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode === 0 ? EXIT_OK : EXIT_USAGE;
    process.stderr.write(`${errorLine(e)}\n`);
    return exitCodeOf(e);
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
  return interrupted && exitCode !== EXIT_OK ? EXIT_INTERRUPTED : exitCode;
}

// A reader that goes away (esebackup dump | head) is not an error of ours: the command stops at its next write and cleans up.
process.stdout.on('error', (e: NodeJS.ErrnoException) => {
  if (e.code !== 'EPIPE') throw e;
  markStdoutClosed();
});

const code = await main(process.argv);
await flushOutput();
// Exit now: a pool or socket some failure left open must not keep the process alive.
process.exit(code);
