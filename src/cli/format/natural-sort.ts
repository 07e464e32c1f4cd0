/**
 * fvbommel/sortorder's NaturalLess, the order Docker lists volumes,
 * networks and ports in: digit runs compare as numbers (`v2` < `v10`).
 */
function isDigit(c: string | undefined): boolean {
  return c !== undefined && c >= '0' && c <= '9';
}

export function naturalLess(str1: string, str2: string): boolean {
  let idx1 = 0;
  let idx2 = 0;
  while (idx1 < str1.length && idx2 < str2.length) {
    const c1 = str1[idx1];
    const c2 = str2[idx2];
    const dig1 = isDigit(c1);
    const dig2 = isDigit(c2);
    if (dig1 !== dig2) return dig1; // digits before other characters
    if (!dig1) {
      if (c1 !== c2) return c1 < c2;
      idx1++;
      idx2++;
      continue;
    }
    // Both digit runs: skip leading zeros, compare by length then lexically.
    let z1 = idx1;
    while (str1[z1] === '0') z1++;
    let z2 = idx2;
    while (str2[z2] === '0') z2++;
    let e1 = z1;
    while (isDigit(str1[e1])) e1++;
    let e2 = z2;
    while (isDigit(str2[e2])) e2++;
    const n1 = str1.slice(z1, e1);
    const n2 = str2.slice(z2, e2);
    if (n1.length !== n2.length) return n1.length < n2.length;
    if (n1 !== n2) return n1 < n2;
    // Equal numbers: fewer leading zeros first.
    if (z1 - idx1 !== z2 - idx2) return z1 - idx1 < z2 - idx2;
    idx1 = e1;
    idx2 = e2;
  }
  return str1.length - idx1 < str2.length - idx2;
}

export function naturalCompare(a: string, b: string): number {
  return naturalLess(a, b) ? -1 : naturalLess(b, a) ? 1 : 0;
}
