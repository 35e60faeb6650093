// The generators of the property tests and the search corpus draw from a
// seeded source, so that a failure's seed (printed by the test) replays
// the same cases.

/** mulberry32: a small PRNG whose sequence a seed fixes; numbers in [0, 1). */
export function prng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
