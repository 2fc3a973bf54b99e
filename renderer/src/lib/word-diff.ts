/** Word-level diff (LCS) of two outputs, for the compare view. */
export function wordDiff(a: string, b: string): { text: string; op: 'same' | 'del' | 'add' }[] {
  const x = a.split(/(\s+)/).filter(Boolean),
    y = b.split(/(\s+)/).filter(Boolean);
  const n = x.length,
    m = y.length;
  const L = Array.from({ length: n + 1 }, () => new Int32Array(m + 1));
  for (let i = n - 1; i >= 0; i--)
    for (let j = m - 1; j >= 0; j--)
      L[i]![j] = x[i] === y[j] ? L[i + 1]![j + 1]! + 1 : Math.max(L[i + 1]![j]!, L[i]![j + 1]!);
  const out: { text: string; op: 'same' | 'del' | 'add' }[] = [];
  let i = 0,
    j = 0;
  while (i < n && j < m) {
    if (x[i] === y[j]) {
      out.push({ text: x[i]!, op: 'same' });
      i++;
      j++;
    } else if (L[i + 1]![j]! >= L[i]![j + 1]!) out.push({ text: x[i++]!, op: 'del' });
    else out.push({ text: y[j++]!, op: 'add' });
  }
  while (i < n) out.push({ text: x[i++]!, op: 'del' });
  while (j < m) out.push({ text: y[j++]!, op: 'add' });
  return out;
}
