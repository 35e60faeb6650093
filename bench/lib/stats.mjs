// Order statistics of samples (ms): nearest rank, so a p99 of 200 samples
// is the second largest, a real sample rather than an interpolation.
export function quantile(samples, q) {
  if (samples.length === 0) return NaN;
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))];
}

export const median = (samples) => quantile(samples, 0.5);
export const p99 = (samples) => quantile(samples, 0.99);
export const round = (x, digits = 2) => (Number.isFinite(x) ? Number(x.toFixed(digits)) : null);
