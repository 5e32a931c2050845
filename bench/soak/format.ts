/**
 * Units, and how figures and errors are written for people in the soak test's
 * progress lines, messages and tables.
 *
 * @module
 */

/** Bytes in a KiB. */
export const KiB = 1024;
/** Bytes in a MiB. */
export const MiB = 1024 * KiB;

/** `n` rounded, with thousands separators: `1,000,000`. */
export function count(n: number): string {
  return Math.round(n).toLocaleString("en-US");
}

/** `bytes` in whole MiB, without the unit. */
export function mib(bytes: number): string {
  return (bytes / MiB).toFixed(0);
}

/** `bytes` with its unit: `17.1 MiB`, or `2.05 GiB` from 1 GiB. */
export function volume(bytes: number): string {
  return bytes >= 1024 * MiB
    ? `${(bytes / (1024 * MiB)).toFixed(2)} GiB`
    : `${(bytes / MiB).toFixed(1)} MiB`;
}

/** A seed as it is given to `--seed`: `0x5eed`. */
export function hex(seed: number): string {
  return `0x${seed.toString(16)}`;
}

/** `Name: message` of an error, or the thrown value as a string. */
export function message(error: unknown): string {
  return error instanceof Error
    ? `${error.name}: ${error.message}`
    : String(error);
}
