/**
 * Log and checkpoint file names, ESE style with 8-digit generations:
 *
 *   <base>.log            the current generation
 *   <base>XXXXXXXX.log    a finished generation, XXXXXXXX = upper-case hex
 *   <base>tmp.log         the next generation, prepared before the roll
 *   <base>.chk            the checkpoint
 *
 * `base` is exactly three characters (JET_paramBaseName).
 */
export const MAX_GENERATION = 0xffffffff;

export function currentLogName(base: string): string {
  return `${base}.log`;
}

export function tmpLogName(base: string): string {
  return `${base}tmp.log`;
}

export function checkpointName(base: string): string {
  return `${base}.chk`;
}

export function archivedLogName(base: string, gen: number): string {
  return `${base}${gen.toString(16).toUpperCase().padStart(8, '0')}.log`;
}

/**
 * The generation of a finished log's file name, or undefined when the name is
 * not one. The base matches case-insensitively, as ESE does; the hex digits may
 * be of either case.
 */
export function parseArchivedLogName(base: string, name: string): number | undefined {
  if (name.length !== base.length + 8 + 4) return undefined;
  if (name.slice(0, base.length).toLowerCase() !== base.toLowerCase()) return undefined;
  if (name.slice(-4).toLowerCase() !== '.log') return undefined;
  const hex = name.slice(base.length, base.length + 8);
  if (!/^[0-9A-Fa-f]{8}$/.test(hex)) return undefined;
  const gen = parseInt(hex, 16);
  return gen >= 1 ? gen : undefined;
}
