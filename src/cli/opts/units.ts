/**
 * Parsing of the unit-bearing values Docker's flags take, with the exact
 * rules and messages of docker/go-units (`RAMInBytes`, `FromHumanSize`),
 * Go's `time.ParseDuration`, and the CLI's `opts.NanoCPUs`.
 */

const BINARY: Record<string, number> = { k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4, p: 1024 ** 5 };
const DECIMAL: Record<string, number> = { k: 1e3, m: 1e6, g: 1e9, t: 1e12, p: 1e15 };

/** Go's strconv.ParseFloat for the plain decimal forms the CLI meets. */
function parseGoFloat(num: string): number {
  if (!/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(num)) {
    throw new Error(`strconv.ParseFloat: parsing ${JSON.stringify(num)}: invalid syntax`);
  }
  return Number(num);
}

/** go-units parseSize: a number with an optional suffix from the map (plus `b`, `ib`). */
function parseSize(sizeStr: string, units: Record<string, number>): number {
  let sep = -1;
  for (let i = sizeStr.length - 1; i >= 0; i--) {
    if ('01234567890. '.includes(sizeStr[i])) { sep = i; break; }
  }
  if (sep === -1) throw new Error(`invalid size: '${sizeStr}'`);
  let num: string;
  let sfx: string;
  if (sizeStr[sep] !== ' ') {
    num = sizeStr.slice(0, sep + 1);
    sfx = sizeStr.slice(sep + 1);
  } else {
    num = sizeStr.slice(0, sep);
    sfx = sizeStr.slice(sep + 1);
  }
  let size = parseGoFloat(num);
  if (size < 0) throw new Error(`invalid size: '${sizeStr}'`);
  if (sfx.length === 0) return Math.trunc(size);
  const bad = () => new Error(`invalid suffix: '${sfx}'`);
  if (sfx.length > 3) throw bad();
  sfx = sfx.toLowerCase();
  if (sfx[0] === 'b') {
    if (sfx.length > 1) throw bad();
    return Math.trunc(size);
  }
  const mul = units[sfx[0]];
  if (mul === undefined) throw bad();
  size *= mul;
  if ((sfx.length === 2 && sfx[1] !== 'b') || (sfx.length === 3 && sfx.slice(1) !== 'ib')) throw bad();
  return Math.trunc(size);
}

/** go-units RAMInBytes: `64m` → 67108864 (binary multiples). Used by --memory, --shm-size… */
export function ramInBytes(s: string): number {
  return parseSize(s, BINARY);
}

/** go-units FromHumanSize: `1kB` → 1000 (decimal multiples). */
export function fromHumanSize(s: string): number {
  return parseSize(s, DECIMAL);
}

/**
 * opts.NanoCPUs: a rational number of CPUs times 1e9, which must come out
 * whole (`--cpus 0.5` → 500000000).
 */
export function parseNanoCpus(value: string): number {
  const m = /^([+-]?)(\d*)(?:\.(\d*))?$/.exec(value);
  const frac = /^([+-]?\d+)\/(\d+)$/.exec(value);
  if (frac) {
    const n = (Number(frac[1]) * 1e9) / Number(frac[2]);
    if (!Number.isInteger(n)) throw new Error('value is too precise');
    return n;
  }
  if (!m || (m[2] === '' && (m[3] ?? '') === '')) throw new Error(`failed to parse ${value} as a rational number`);
  const fraction = (m[3] ?? '').replace(/0+$/, '');
  if (fraction.length > 9) throw new Error('value is too precise');
  const n = Number(m[2] || '0') * 1e9 + Number((fraction + '000000000').slice(0, 9));
  return m[1] === '-' ? -n : n;
}

const DURATION_UNITS: Record<string, number> = {
  ns: 1, us: 1e3, 'µs': 1e3, 'μs': 1e3, ms: 1e6, s: 1e9, m: 60e9, h: 3600e9,
};

/** Go's time.ParseDuration, in nanoseconds. */
export function parseGoDuration(s: string): number {
  const orig = s;
  const invalid = () => new Error(`time: invalid duration ${JSON.stringify(orig)}`);
  let neg = false;
  if (s[0] === '-' || s[0] === '+') {
    neg = s[0] === '-';
    s = s.slice(1);
  }
  if (s === '0') return 0;
  if (s === '') throw invalid();
  let total = 0;
  while (s !== '') {
    const m = /^(\d*)(?:\.(\d*))?/.exec(s);
    if (!m || (m[1] === '' && (m[2] === undefined || m[2] === ''))) throw invalid();
    s = s.slice(m[0].length);
    const u = /^[^0-9.]+/.exec(s);
    if (!u) throw new Error(`time: missing unit in duration ${JSON.stringify(orig)}`);
    const unit = DURATION_UNITS[u[0]];
    if (unit === undefined) throw new Error(`time: unknown unit ${JSON.stringify(u[0])} in duration ${JSON.stringify(orig)}`);
    s = s.slice(u[0].length);
    total += Number(m[1] || '0') * unit + (m[2] ? Math.round(Number(`0.${m[2]}`) * unit) : 0);
  }
  return neg ? -total : total;
}

/** Go's Duration.String() for whole-unit values the CLI prints (`1m30s`, `0s`, `500ms`). */
export function formatGoDuration(ns: number): string {
  if (ns === 0) return '0s';
  const neg = ns < 0;
  let d = Math.abs(ns);
  let out: string;
  if (d < 1e9) {
    if (d < 1e3) out = `${d}ns`;
    else if (d < 1e6) out = `${trimZeros(d / 1e3)}µs`;
    else out = `${trimZeros(d / 1e6)}ms`;
  } else {
    const h = Math.floor(d / 3600e9);
    d -= h * 3600e9;
    const m = Math.floor(d / 60e9);
    d -= m * 60e9;
    const sec = d / 1e9;
    out = `${h ? `${h}h` : ''}${h || m ? `${m}m` : ''}${trimZeros(sec)}s`;
  }
  return neg ? `-${out}` : out;
}

function trimZeros(n: number): string {
  return String(Number(n.toFixed(9)));
}
