/**
 * Counts refused logins (bad or taken handles) per client address. Successful logins are never
 * counted: a whole classroom joins at once from one NAT address. The count lives in this process;
 * with several processes each one allows the limit.
 */
export function createLoginThrottle (options: { limit: number, windowMs: number }) {
  const failures = new Map<string, number[]>()

  function recent (address: string, now: number): number[] {
    const times = (failures.get(address) ?? []).filter((time) => time > now - options.windowMs)
    if (times.length === 0) failures.delete(address)
    else failures.set(address, times)
    return times
  }

  return {
    isBlocked (address: string): boolean {
      return recent(address, performance.now()).length >= options.limit
    },

    recordFailure (address: string): void {
      const now = performance.now()
      const times = recent(address, now)
      times.push(now)
      failures.set(address, times)
      // Keep the map from growing without bound under a spray of addresses.
      if (failures.size > 10_000) {
        for (const key of failures.keys()) {
          if (recent(key, now).length === 0) failures.delete(key)
          if (failures.size <= 5_000) break
        }
      }
    }
  }
}
