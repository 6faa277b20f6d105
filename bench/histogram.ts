/**
 * A latency histogram in microseconds with log-linear buckets (256 per power of two, so any
 * percentile is within 0.4 % of the true value). Recording is O(1) and allocation-free: a ramp step
 * records millions of delivery latencies, which a sorted array of samples could not hold.
 */
export class Histogram {
  private readonly counts = new Float64Array(6144)
  count = 0
  max = 0

  /** Records a duration given in milliseconds (performance.now() differences). */
  recordMs (ms: number): void {
    const us = ms <= 0 ? 0 : Math.min(Math.round(ms * 1000), 0x7fffffff)
    if (us > this.max) this.max = us
    const bucket = bucketOf(us)
    this.counts[bucket] = (this.counts[bucket] as number) + 1
    this.count++
  }

  /** The value (ms) below which `fraction` of the recorded values lie; NaN when empty. */
  percentileMs (fraction: number): number {
    if (this.count === 0) return Number.NaN
    const rank = Math.max(1, Math.ceil(fraction * this.count))
    let seen = 0
    for (let i = 0; i < this.counts.length; i++) {
      seen += this.counts[i] as number
      if (seen >= rank) return Math.min(bucketMidpoint(i), this.max) / 1000
    }
    return this.max / 1000
  }

  /** Adds another histogram's values to this one (windows of a second summed into a longer one). */
  add (other: Histogram): void {
    for (let i = 0; i < this.counts.length; i++) this.counts[i] = (this.counts[i] as number) + (other.counts[i] as number)
    this.count += other.count
    if (other.max > this.max) this.max = other.max
  }

  maxMs (): number {
    return this.count === 0 ? Number.NaN : this.max / 1000
  }
}

// Exact below 512 µs; above, the top 9 significant bits of the value select the bucket.
function bucketOf (us: number): number {
  if (us < 512) return us
  const shift = 31 - Math.clz32(us) - 8
  return shift * 256 + (us >>> shift)
}

function bucketMidpoint (index: number): number {
  if (index < 512) return index
  const shift = (index >>> 8) - 1
  const low = (index - shift * 256) * 2 ** shift
  return low + (2 ** shift - 1) / 2
}
