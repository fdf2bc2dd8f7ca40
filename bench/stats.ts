/**
 * The arithmetic of a fair comparison on a noisy machine: medians over rounds, and ratios taken
 * pairwise inside one round (two configurations measured minutes apart see different host
 * speeds; two measured back to back in the same round mostly do not) before taking their median.
 */

/** The median of a list of numbers (NaN for an empty list). */
export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** A ratio summarised over rounds: the median of the per-round ratios and their spread. */
export interface PairedRatio {
  median: number;
  min: number;
  max: number;
  /** How many rounds had both sides measured. */
  pairs: number;
}

/**
 * Ratio of `numerator` to `denominator`, paired by round: the i-th entries were measured in the
 * same round. Rounds where either side is missing (undefined/NaN) or the denominator is zero are
 * left out; with no pair left the result is undefined.
 */
export function pairedRatio(
  numerator: readonly (number | undefined)[],
  denominator: readonly (number | undefined)[],
): PairedRatio | undefined {
  const ratios: number[] = [];
  const n = Math.min(numerator.length, denominator.length);
  for (let i = 0; i < n; i++) {
    const a = numerator[i];
    const b = denominator[i];
    if (a === undefined || b === undefined || !Number.isFinite(a) || !Number.isFinite(b) || b === 0) continue;
    ratios.push(a / b);
  }
  if (ratios.length === 0) return undefined;
  return { median: median(ratios), min: Math.min(...ratios), max: Math.max(...ratios), pairs: ratios.length };
}

/** The order configurations run in during round `round`: rotated by one place per round. */
export function rotated<T>(items: readonly T[], round: number): T[] {
  if (items.length === 0) return [];
  const shift = round % items.length;
  return [...items.slice(shift), ...items.slice(0, shift)];
}
