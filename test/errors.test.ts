import { expect } from 'chai';
import * as errors from '../src/errors.js';
import { JetError, errName, errNumber, fromFsError, type JetErrName } from '../src/errors.js';

/**
 * ESE's published numbers (esent.h / jethdr.w, JET_errSurrogateBackupInProgress
 * from esent_x.h). Every name the module exports is checked against this table
 * when it appears here; the table is the reference, not the module.
 */
const PUBLISHED: Record<string, number> = {
  JET_errSuccess: 0,
  JET_errLogFileCorrupt: -501,
  JET_errBackupDirectoryNotEmpty: -504,
  JET_errBackupInProgress: -505,
  JET_errRestoreInProgress: -506,
  JET_errMissingPreviousLogFile: -509,
  JET_errLogWriteFail: -510,
  JET_errBadLogVersion: -514,
  JET_errInvalidLogSequence: -515,
  JET_errLoggingDisabled: -516,
  JET_errLogSequenceEnd: -519,
  JET_errNoBackup: -520,
  JET_errInvalidBackupSequence: -521,
  JET_errBackupNotAllowedYet: -523,
  JET_errInvalidBackup: -526,
  JET_errMissingLogFile: -528,
  JET_errLogDiskFull: -529,
  JET_errBadLogSignature: -530,
  JET_errBadDbSignature: -531,
  JET_errCheckpointCorrupt: -533,
  JET_errPatchFileMissing: -538,
  JET_errRequiredLogFilesMissing: -543,
  JET_errDatabaseDirtyShutdown: -550,
  JET_errDatabaseInconsistent: -550,
  JET_errDatabasePatchFileMismatch: -552,
  JET_errEndingRestoreLogTooLow: -553,
  JET_errStartingRestoreLogTooHigh: -554,
  JET_errGivenLogFileHasBadSignature: -555,
  JET_errGivenLogFileIsNotContiguous: -556,
  JET_errMissingRestoreLogFiles: -557,
  JET_errMissingFullBackup: -560,
  JET_errMissingCurrentLogFiles: -565,
  JET_errMissingFileToBackup: -569,
  JET_errExistingLogFileHasBadSignature: -610,
  JET_errExistingLogFileIsNotContiguous: -611,
  JET_errLogReadVerifyFailure: -612,
  JET_errRestoreOfNonBackupDatabase: -615,
  JET_errLogFileNotCopied: -616,
  JET_errSurrogateBackupInProgress: -617,
  JET_errBackupAbortByServer: -801,
  JET_errInvalidGrbit: -900,
  JET_errTermInProgress: -1000,
  JET_errInvalidParameter: -1003,
  JET_errOutOfMemory: -1011,
  JET_errReadVerifyFailure: -1018,
  JET_errPageNotInitialized: -1019,
  JET_errDiskIO: -1022,
  JET_errInvalidPath: -1023,
  JET_errNotInitialized: -1029,
  JET_errFileAccessDenied: -1032,
  JET_errInstanceNameInUse: -1086,
  JET_errInstanceUnavailable: -1090,
  JET_errDatabaseInUse: -1202,
  JET_errDatabaseCorrupted: -1206,
  JET_errPageSizeMismatch: -1213,
  JET_errClientRequestToStopJetService: -1329,
  JET_errDiskFull: -1808,
  JET_errFileNotFound: -1811,
  JET_errAfterInitialization: -1850,
  JET_errSessionSharingViolation: -1910,
};

/** ESE's own aliases: a second name for a number another name already owns. */
const ALIASES: Record<string, string> = {
  JET_errDatabaseInconsistent: 'JET_errDatabaseDirtyShutdown',
};

/** Every exported error-number constant: JET_err* plus ESE's internal err* names. */
function exportedCodes(): Array<[string, number]> {
  const out: Array<[string, number]> = [];
  for (const [name, value] of Object.entries(errors as Record<string, unknown>)) {
    if (/^(JET_)?err[A-Z]/.test(name) && typeof value === 'number') out.push([name, value]);
  }
  return out;
}

describe('errors', () => {
  describe('JetError', () => {
    it('carries the ESE number and name, and a message naming both and the detail', () => {
      const e = new JetError('JET_errBackupInProgress', 'backup of instance "x" already running');
      expect(e).to.be.instanceOf(Error);
      expect(e.name).to.equal('JetError');
      expect(e.err).to.equal(-505);
      expect(e.errName).to.equal('JET_errBackupInProgress');
      expect(e.message).to.contain('JET_errBackupInProgress');
      expect(e.message).to.contain('-505');
      expect(e.message).to.contain('backup of instance "x" already running');
    });

    it('falls back to a description when no detail is given', () => {
      const e = new JetError('JET_errDiskFull');
      expect(e.err).to.equal(-1808);
      expect(e.message).to.match(/^JET_errDiskFull \(-1808\): \S/);
    });

    it('keeps the cause it was given', () => {
      const cause = new Error('underlying');
      const e = new JetError('JET_errDiskIO', 'reading page 3', { cause });
      expect(e.cause).to.equal(cause);
    });

    it('JetError.is recognises JetErrors, optionally of one name, and rejects everything else', () => {
      const e = new JetError('JET_errInvalidGrbit', 'grbit 0x80');
      expect(JetError.is(e)).to.equal(true);
      expect(JetError.is(e, 'JET_errInvalidGrbit')).to.equal(true);
      expect(JetError.is(e, 'JET_errInvalidParameter')).to.equal(false);
      expect(JetError.is(new Error('JET_errInvalidGrbit'))).to.equal(false);
      expect(JetError.is({ err: -900, errName: 'JET_errInvalidGrbit' })).to.equal(false);
      expect(JetError.is(undefined)).to.equal(false);
      expect(JetError.is(null, 'JET_errInvalidGrbit')).to.equal(false);
    });
  });

  describe('error numbers', () => {
    it("gives the spot-checked constants ESE's real values", () => {
      expect(errors.JET_errBackupInProgress).to.equal(-505);
      expect(errors.JET_errMissingFullBackup).to.equal(-560);
      expect(errors.JET_errLogReadVerifyFailure).to.equal(-612);
      expect(errors.JET_errReadVerifyFailure).to.equal(-1018);
      expect(errors.JET_errInvalidGrbit).to.equal(-900);
      expect(errors.JET_errFileAccessDenied).to.equal(-1032);
      expect(errors.JET_errClientRequestToStopJetService).to.equal(-1329);
      expect(errors.JET_errInstanceUnavailable).to.equal(-1090);
      expect(errors.JET_errCheckpointCorrupt).to.equal(-533);
      expect(errors.JET_errDatabaseDirtyShutdown).to.equal(-550);
    });

    it('gives every exported constant that ESE publishes the published value', () => {
      const codes = exportedCodes();
      expect(codes.length).to.be.greaterThan(50);
      for (const [name, value] of codes) {
        if (name in PUBLISHED) expect(value, name).to.equal(PUBLISHED[name]);
      }
      // And the reference table names nothing the module forgot to export.
      const exported = new Set(codes.map(([n]) => n));
      for (const name of Object.keys(PUBLISHED)) expect(exported.has(name), name).to.equal(true);
    });

    it('makes every exported constant agree with errNumber for its own name (aliases with their canonical name)', () => {
      for (const [name, value] of exportedCodes()) {
        const canonical = (ALIASES[name] ?? name) as JetErrName;
        expect(errNumber(canonical), name).to.equal(value);
        expect(value, name).to.be.at.most(0);
      }
    });

    it('maps every exported number back to a name holding that number', () => {
      for (const [name, value] of exportedCodes()) {
        const back = errName(value);
        expect(back, `${name} (${value})`).to.equal(ALIASES[name] ?? name);
      }
    });

    it('uses each number for only one name, apart from ESE aliases', () => {
      const byValue = new Map<number, string[]>();
      for (const [name, value] of exportedCodes()) {
        byValue.set(value, [...(byValue.get(value) ?? []), name]);
      }
      for (const [value, names] of byValue) {
        const canonical = names.filter((n) => !(n in ALIASES));
        expect(canonical, `number ${value}: ${names.join(', ')}`).to.have.lengthOf(1);
      }
    });

    it('names -505 JET_errBackupInProgress and knows no name for a number outside the table', () => {
      expect(errName(-505)).to.equal('JET_errBackupInProgress');
      expect(errName(-550)).to.equal('JET_errDatabaseDirtyShutdown');
      expect(errName(-1)).to.equal(undefined);
      expect(errName(505)).to.equal(undefined);
    });

    it('builds a JetError for every name whose err matches errNumber', () => {
      for (const [name] of exportedCodes()) {
        if (name in ALIASES) continue;
        const e = new JetError(name as JetErrName);
        expect(e.err, name).to.equal(errNumber(name as JetErrName));
        expect(e.errName).to.equal(name);
      }
    });
  });

  describe('fromFsError', () => {
    const fsErr = (code: string | undefined, message = `${code}: something`): NodeJS.ErrnoException => {
      const e = new Error(message) as NodeJS.ErrnoException;
      if (code !== undefined) e.code = code;
      return e;
    };

    const cases: Array<[string | undefined, JetErrName]> = [
      ['ENOSPC', 'JET_errDiskFull'],
      ['ENOENT', 'JET_errFileNotFound'],
      ['EACCES', 'JET_errFileAccessDenied'],
      ['EPERM', 'JET_errFileAccessDenied'],
      ['EBUSY', 'JET_errFileAccessDenied'],
      ['EIO', 'JET_errDiskIO'],
      ['EMFILE', 'JET_errDiskIO'],
      [undefined, 'JET_errDiskIO'],
    ];
    for (const [code, name] of cases) {
      it(`maps ${code ?? 'an error without a code'} to ${name}, naming the operation and keeping the cause`, () => {
        const cause = fsErr(code, 'the os said no');
        const e = fromFsError(cause, 'writing log edb.log');
        expect(e).to.be.instanceOf(JetError);
        expect(e.errName).to.equal(name);
        expect(e.err).to.equal(errNumber(name));
        expect(e.cause).to.equal(cause);
        expect(e.message).to.contain('writing log edb.log');
        expect(e.message).to.contain('the os said no');
      });
    }

    it('passes a JetError through unchanged', () => {
      const je = new JetError('JET_errLogDiskFull', 'log disk full');
      expect(fromFsError(je, 'anything')).to.equal(je);
    });

    it('copes with a thrown non-Error value', () => {
      const e = fromFsError('boom', 'syncing');
      expect(e.errName).to.equal('JET_errDiskIO');
      expect(e.message).to.contain('syncing: boom');
      expect(e.cause).to.equal('boom');
    });
  });
});
