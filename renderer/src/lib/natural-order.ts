/**
 * Natural order for sample ids and group names: runs of digits by their value, the text between by the locale's
 * collation (as `Intl.Collator(undefined, { numeric: true })` orders whole strings). Sorting 10,000 ids with the
 * collator itself takes tens of ms on a slow machine, and making a page's first collator tens more; ids of one task
 * differ only in their numbers, so most pairs are decided here by one walk over their characters, and only pairs
 * whose text differs (another task, another case) go to the collator, made when first needed.
 */
export function naturalCompare(): (a: string, b: string) => number {
  let collate: ((a: string, b: string) => number) | undefined;
  const slow = (a: string, b: string) => (collate ??= new Intl.Collator(undefined, { numeric: true }).compare)(a, b);
  const digit = (s: string, i: number) => i < s.length && s.charCodeAt(i) >= 48 && s.charCodeAt(i) <= 57;
  return (a, b) => {
    if (a === b) return 0;
    let i = 0;
    while (i < a.length && i < b.length && a.charCodeAt(i) === b.charCodeAt(i)) i++;
    // The first difference inside a run of digits in both (or one run ending earlier): with the text before it
    // equal, the runs' values decide (equal values written differently, 7 and 007, go to the collator).
    let start = i;
    while (start > 0 && digit(a, start - 1)) start--;
    if (!(digit(a, i) || digit(b, i)) || !(digit(a, start) && digit(b, start))) return slow(a, b);
    let ea = i,
      eb = i;
    while (digit(a, ea)) ea++;
    while (digit(b, eb)) eb++;
    return Number(a.slice(start, ea)) - Number(b.slice(start, eb)) || slow(a, b);
  };
}
