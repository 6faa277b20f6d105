import { LRUCache } from 'lru-cache'
import { clientNetwork } from './login-limit.js'

export interface LoginThrottleOptions {
  /** Refusals allowed per address within a window… */
  limit: number
  /** …that starts at the address's first refusal. */
  windowMs: number
  /**
   * Addresses remembered at most (the least recently refused go first). An IPv6 address counts
   * for its /64, as for the login limit (src/login-limit.ts); a spray of networks only pushes out
   * older ones. Keys are at most ~70 characters (clientNetwork), about 200 bytes an entry.
   */
  addresses?: number
}

export const LOGIN_THROTTLE_ADDRESSES = 10_000

interface Refusals {
  count: number
  windowEndsAt: number
}

/**
 * Counts refused logins (bad or taken handles) per client address (IPv6: per /64). Successful logins are never
 * counted: a whole classroom joins at once from one NAT address. The count lives in this process;
 * with several processes each one allows the limit. Every call does a constant amount of work.
 */
export function createLoginThrottle (options: LoginThrottleOptions) {
  const entries = options.addresses ?? LOGIN_THROTTLE_ADDRESSES
  const refusals = new LRUCache<string, Refusals>({
    max: entries,
    maxSize: entries * 256,
    sizeCalculation: (_value, address) => 2 * address.length + 64,
    // An address is forgotten when its window is over (checked when it is next read).
    ttl: options.windowMs,
    noUpdateTTL: true
  })

  function current (network: string, now: number): Refusals | undefined {
    const entry = refusals.get(network)
    return entry !== undefined && entry.windowEndsAt > now ? entry : undefined
  }

  return {
    isBlocked (address: string): boolean {
      return (current(clientNetwork(address), performance.now())?.count ?? 0) >= options.limit
    },

    recordFailure (address: string): void {
      const now = performance.now()
      const network = clientNetwork(address)
      const entry = current(network, now)
      if (entry !== undefined) entry.count++
      else refusals.set(network, { count: 1, windowEndsAt: now + options.windowMs })
    },

    /** How much is remembered now (for tests and diagnostics). */
    usage (): { entries: number, bytes: number } {
      return { entries: refusals.size, bytes: refusals.calculatedSize }
    }
  }
}
