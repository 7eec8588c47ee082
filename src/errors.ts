/**
 * Every failure the engine or the backup reports is a JetError: one class,
 * carrying ESE's numeric error (`err`) and its name (`errName`), so callers
 * can branch on the number exactly as they would on a JET_ERR from esent.dll.
 *
 * The numbers are ESE's own (jethdr.w); the descriptions are ours.
 */

/** name -> [number, short description]. The single table of codes. */
const CODES = {
  JET_errSuccess: [0, 'successful operation'],
  JET_errKeyTooBig: [-408, 'the key is too large'],
  JET_errLogFileCorrupt: [-501, 'a log file header is corrupt'],
  JET_errBackupDirectoryNotEmpty: [-504, 'the backup directory is not empty'],
  JET_errBackupInProgress: [-505, 'a backup is already running'],
  JET_errRestoreInProgress: [-506, 'a restore is in progress'],
  JET_errMissingPreviousLogFile: [-509, 'the log file of the checkpoint generation is missing'],
  JET_errLogWriteFail: [-510, 'failure writing to the log'],
  JET_errBadLogVersion: [-514, 'log file format version not supported'],
  JET_errInvalidLogSequence: [-515, 'a log generation does not follow the one before it'],
  JET_errLoggingDisabled: [-516, 'logging is not active'],
  JET_errLogSequenceEnd: [-519, 'maximum log generation number reached'],
  JET_errNoBackup: [-520, 'no backup in progress'],
  JET_errInvalidBackupSequence: [-521, 'backup call out of sequence'],
  JET_errBackupNotAllowedYet: [-523, 'cannot back up now'],
  JET_errInvalidBackup: [-526, 'incremental backup is impossible with circular logging'],
  JET_errMissingLogFile: [-528, 'the current log file is missing'],
  JET_errLogDiskFull: [-529, 'log disk full'],
  JET_errBadLogSignature: [-530, 'a log file has the wrong log signature'],
  JET_errBadDbSignature: [-531, 'a database file has the wrong signature'],
  JET_errCheckpointCorrupt: [-533, 'checkpoint file missing or corrupt'],
  JET_errPatchFileMissing: [-538, 'patch file missing from the backup set'],
  JET_errRequiredLogFilesMissing: [-543, 'log files required for recovery are missing'],
  JET_errDatabaseDirtyShutdown: [-550, 'database was not shut down cleanly and cannot be recovered'],
  JET_errDatabasePatchFileMismatch: [-552, 'patch file does not belong to this backup'],
  JET_errEndingRestoreLogTooLow: [-553, 'the ending log generation is too low for the restore'],
  JET_errStartingRestoreLogTooHigh: [-554, 'the starting log generation is too high for the restore'],
  JET_errGivenLogFileHasBadSignature: [-555, 'a restore log file has the wrong signature'],
  JET_errGivenLogFileIsNotContiguous: [-556, 'restore log files are not contiguous'],
  JET_errMissingRestoreLogFiles: [-557, 'restore log files are missing'],
  JET_errMissingFullBackup: [-560, 'no full backup precedes this incremental backup'],
  JET_errMissingCurrentLogFiles: [-565, 'current log files are missing for continuous restore'],
  JET_errMissingFileToBackup: [-569, 'a log or patch file needed by the backup is missing'],
  JET_errExistingLogFileHasBadSignature: [-610, 'an existing log file has the wrong signature'],
  JET_errExistingLogFileIsNotContiguous: [-611, 'existing log files are not contiguous'],
  JET_errLogReadVerifyFailure: [-612, 'checksum error in a log file'],
  JET_errRestoreOfNonBackupDatabase: [-615, 'restore of a database that is not from a backup'],
  JET_errLogFileNotCopied: [-616, 'log truncation attempted before all required logs were copied'],
  JET_errSurrogateBackupInProgress: [-617, 'a surrogate backup is in progress'],
  errBackupAbortByCaller: [-800, 'backup aborted by the caller'],
  JET_errBackupAbortByServer: [-801, 'backup aborted by the engine (stop service or termination)'],
  JET_errInvalidGrbit: [-900, 'invalid flags'],
  JET_errTermInProgress: [-1000, 'termination in progress'],
  JET_errInvalidName: [-1002, 'invalid name'],
  JET_errInvalidParameter: [-1003, 'invalid parameter'],
  JET_errOutOfMemory: [-1011, 'out of memory'],
  JET_errReadVerifyFailure: [-1018, 'checksum error on a database page'],
  JET_errPageNotInitialized: [-1019, 'database page not initialized'],
  JET_errDiskIO: [-1022, 'disk I/O error'],
  JET_errInvalidPath: [-1023, 'invalid file path'],
  JET_errNotInitialized: [-1029, 'instance not initialized'],
  JET_errFileAccessDenied: [-1032, 'file is locked or in use'],
  JET_errInstanceNameInUse: [-1086, 'instance name already in use'],
  JET_errInstanceUnavailable: [-1090, 'instance unusable after a fatal error'],
  JET_errDatabaseInUse: [-1202, 'database in use'],
  JET_errDatabaseCorrupted: [-1206, 'not a database file, or corrupted'],
  JET_errPageSizeMismatch: [-1213, 'the database page size does not match the instance'],
  JET_errRunningInMultiInstanceMode: [-1216, 'more than one instance is running; name the instance'],
  JET_errClientRequestToStopJetService: [-1329, 'service stop requested'],
  JET_errColumnTooBig: [-1506, 'the value is too large'],
  JET_errCallbackFailed: [-1750, 'a callback failed'],
  JET_errDiskFull: [-1808, 'no space left on disk'],
  JET_errFileNotFound: [-1811, 'file not found'],
  JET_errAfterInitialization: [-1850, 'cannot restore after initialization'],
  JET_errSessionSharingViolation: [-1910, 'multiple callers are using the same session'],
} as const satisfies Record<string, readonly [number, string]>;

export type JetErrName = keyof typeof CODES;

export const JET_errSuccess = 0;
export const JET_errKeyTooBig = -408;
export const JET_errLogFileCorrupt = -501;
export const JET_errBackupDirectoryNotEmpty = -504;
export const JET_errBackupInProgress = -505;
export const JET_errRestoreInProgress = -506;
export const JET_errMissingPreviousLogFile = -509;
export const JET_errLogWriteFail = -510;
export const JET_errBadLogVersion = -514;
export const JET_errInvalidLogSequence = -515;
export const JET_errLoggingDisabled = -516;
export const JET_errLogSequenceEnd = -519;
export const JET_errNoBackup = -520;
export const JET_errInvalidBackupSequence = -521;
export const JET_errBackupNotAllowedYet = -523;
export const JET_errInvalidBackup = -526;
export const JET_errMissingLogFile = -528;
export const JET_errLogDiskFull = -529;
export const JET_errBadLogSignature = -530;
export const JET_errBadDbSignature = -531;
export const JET_errCheckpointCorrupt = -533;
export const JET_errPatchFileMissing = -538;
export const JET_errRequiredLogFilesMissing = -543;
export const JET_errDatabaseDirtyShutdown = -550;
export const JET_errDatabaseInconsistent = -550; // ESE's obsolete alias
export const JET_errDatabasePatchFileMismatch = -552;
export const JET_errEndingRestoreLogTooLow = -553;
export const JET_errStartingRestoreLogTooHigh = -554;
export const JET_errGivenLogFileHasBadSignature = -555;
export const JET_errGivenLogFileIsNotContiguous = -556;
export const JET_errMissingRestoreLogFiles = -557;
export const JET_errMissingFullBackup = -560;
export const JET_errMissingCurrentLogFiles = -565;
export const JET_errMissingFileToBackup = -569;
export const JET_errExistingLogFileHasBadSignature = -610;
export const JET_errExistingLogFileIsNotContiguous = -611;
export const JET_errLogReadVerifyFailure = -612;
export const JET_errRestoreOfNonBackupDatabase = -615;
export const JET_errLogFileNotCopied = -616;
export const JET_errSurrogateBackupInProgress = -617;
export const errBackupAbortByCaller = -800;
export const JET_errBackupAbortByServer = -801;
export const JET_errInvalidGrbit = -900;
export const JET_errTermInProgress = -1000;
export const JET_errInvalidName = -1002;
export const JET_errInvalidParameter = -1003;
export const JET_errOutOfMemory = -1011;
export const JET_errReadVerifyFailure = -1018;
export const JET_errPageNotInitialized = -1019;
export const JET_errDiskIO = -1022;
export const JET_errInvalidPath = -1023;
export const JET_errNotInitialized = -1029;
export const JET_errFileAccessDenied = -1032;
export const JET_errInstanceNameInUse = -1086;
export const JET_errInstanceUnavailable = -1090;
export const JET_errDatabaseInUse = -1202;
export const JET_errDatabaseCorrupted = -1206;
export const JET_errPageSizeMismatch = -1213;
export const JET_errClientRequestToStopJetService = -1329;
export const JET_errColumnTooBig = -1506;
export const JET_errDiskFull = -1808;
export const JET_errFileNotFound = -1811;
export const JET_errAfterInitialization = -1850;
export const JET_errSessionSharingViolation = -1910;

const NAME_BY_NUMBER = new Map<number, JetErrName>();
for (const [name, [num]] of Object.entries(CODES) as [JetErrName, readonly [number, string]][]) {
  // Aliases (JET_errDatabaseInconsistent) are exported constants only, not table entries.
  if (!NAME_BY_NUMBER.has(num)) NAME_BY_NUMBER.set(num, name);
}

/** The number of a code name. */
export function errNumber(name: JetErrName): number {
  return CODES[name][0];
}

/** The name of a code number, or undefined when the number is not one of ours. */
export function errName(err: number): JetErrName | undefined {
  return NAME_BY_NUMBER.get(err);
}

export class JetError extends Error {
  /** ESE's numeric error, always negative. */
  readonly err: number;
  /** ESE's name for it, e.g. 'JET_errBackupInProgress'. */
  readonly errName: JetErrName;
  /** The message without the name and number in front (what happened, where). */
  readonly detail: string;

  /**
   * @param name    the JET_err name
   * @param detail  what happened, naming the file / page / generation involved
   */
  constructor(name: JetErrName, detail?: string, options?: { cause?: unknown }) {
    const [err, description] = CODES[name];
    super(`${name} (${err}): ${detail ?? description}`, options);
    this.name = 'JetError';
    this.err = err;
    this.errName = name;
    this.detail = detail ?? description;
  }

  /** True when `e` is a JetError with the given name. */
  static is(e: unknown, name?: JetErrName): e is JetError {
    return e instanceof JetError && (name === undefined || e.errName === name);
  }
}

/**
 * Map an OS-level error from node:fs to the closest JET_err, keeping it as the cause.
 * ENOSPC is a full disk, ENOENT a missing file, EACCES/EPERM/EBUSY an access
 * problem; anything else is a generic disk I/O error.
 */
export function fromFsError(e: unknown, what: string): JetError {
  if (e instanceof JetError) return e;
  const code = (e as NodeJS.ErrnoException | undefined)?.code;
  const msg = `${what}: ${(e as Error | undefined)?.message ?? String(e)}`;
  switch (code) {
    case 'ENOSPC': return new JetError('JET_errDiskFull', msg, { cause: e });
    case 'ENOENT': return new JetError('JET_errFileNotFound', msg, { cause: e });
    case 'EACCES': case 'EPERM': case 'EBUSY':
      return new JetError('JET_errFileAccessDenied', msg, { cause: e });
    default: return new JetError('JET_errDiskIO', msg, { cause: e });
  }
}
