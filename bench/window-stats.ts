import { Histogram } from './histogram.js'

/** Everything counted during one window of a step (the warm-up, or the measured window). */
export class WindowStats {
  readonly pollLatency = new Histogram()
  readonly postLatency = new Histogram()
  readonly deliveryLatency = new Histogram()
  polls = 0
  emptyPolls = 0
  pollBytes = 0
  emptyPollBytes = 0
  emptyPollBytesMax = 0
  posts = 0
  /** Response bytes of every request completed in the window, and request bytes sent. */
  bytesIn = 0
  bytesOut = 0
  requests = 0
  deliveries = 0
  lost = 0
  duplicates = 0
  /** Tokens of this run that arrived after their message was settled (already counted as lost). */
  late = 0
  timeouts = 0
  readonly errors = new Map<string, number>()

  error (kind: string): void {
    this.errors.set(kind, (this.errors.get(kind) ?? 0) + 1)
  }

  errorCount (): number {
    let total = 0
    for (const count of this.errors.values()) total += count
    return total
  }
}
