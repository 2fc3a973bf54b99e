/**
 * A probability as a reader can tell it apart: percentages with one decimal in the body of the range, and near 0 or 1
 * as many digits as it takes, so 0.9999996 reads "99.99996%" and not "100.0%" (issue 15: confidence ties at 1).
 * Exactly 1 and 0 read as such.
 */
export function formatProb(p: number): string {
  if (Number.isNaN(p)) return '–';
  if (p >= 1) return '100%';
  if (p <= 0) return '0%';
  const pct = p * 100;
  if (pct >= 0.1 && pct <= 99.9) return `${pct.toFixed(1)}%`;
  // Near the ends: enough digits to show how far from 100% (or 0%) the value is.
  const gap = pct > 50 ? 100 - pct : pct;
  const digits = Math.min(12, Math.max(1, Math.ceil(-Math.log10(gap))));
  return `${pct.toFixed(digits)}%`;
}

/** A local date and time as 2026-12-08 01:23: the first toLocaleString of a page loads the locale's date data, which
 * took 100 ms of the main thread while a large trace opened beside the list of recent files. */
export function shortDateTime(when: number | string): string {
  const d = new Date(when);
  const two = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${two(d.getMonth() + 1)}-${two(d.getDate())} ${two(d.getHours())}:${two(d.getMinutes())}`;
}
