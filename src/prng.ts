/**
 * mulberry32: a small, well-known 32-bit PRNG with a uniform [0, 1) output.
 * Not for secrets: it is here so that the same seed gives the same choices
 * (fault schedules, the crash tests' plans) and a run can be replayed.
 */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
