import { isIPv4, isIPv6 } from 'node:net'
import { Lru } from 'toad-cache'

/**
 * Client networks remembered at once; the least recently seen go first. Each entry is a key of at
 * most ~70 characters and two numbers, so the whole cache stays under a few MB whatever arrives.
 */
export const LOGIN_LIMIT_NETWORKS = 10_000

/** Longer "addresses" (only possible from a trusted proxy's header) are cut to this for the key. */
const MAX_KEY_LENGTH = 64

interface Window {
  count: number
  startedAt: number
}

/**
 * The network a client address counts for: an IPv4 address itself, an IPv6 address its /64
 * (one household or classroom network; an attacker gets 2^64 addresses with one), anything else
 * (an odd forwarded value) its first characters.
 */
export function clientNetwork (address: string): string {
  const lower = address.toLowerCase()
  if (isIPv4(lower)) return lower
  if (lower.startsWith('::ffff:') && isIPv4(lower.slice(7))) return lower.slice(7)
  const unzoned = lower.split('%', 1)[0] as string
  if (isIPv6(unzoned)) return ipv6Prefix64(unzoned)
  return 'other:' + lower.slice(0, MAX_KEY_LENGTH)
}

/** The first four groups of a valid IPv6 address, `::` expanded, as "a:b:c:d::/64". */
function ipv6Prefix64 (address: string): string {
  const [head = '', tail] = address.split('::')
  const left = head === '' ? [] : head.split(':')
  const right = tail === undefined || tail === '' ? [] : tail.split(':')
  // An embedded IPv4 address at the end fills two groups.
  const rightGroups = right.length + (right.length > 0 && (right[right.length - 1] as string).includes('.') ? 1 : 0)
  const zeros: string[] = Array.from({ length: Math.max(0, 8 - left.length - rightGroups) }, () => '0')
  const groups = tail === undefined ? left : [...left, ...zeros, ...right]
  return groups.slice(0, 4).map((group) => Number.parseInt(group, 16).toString(16)).join(':') + '::/64'
}

/**
 * Successful logins per client network, within a fixed window. Every login creates a participant
 * and a session row in a MEMORY table; without a limit one script fills the tables and locks
 * everyone out. Generous by default (a classroom behind one NAT joins at once). The count lives in
 * this process: with several processes each one allows the limit.
 */
export function createLoginLimit (options: { limit: number, windowMs: number, networks?: number }) {
  const windows = new Lru<Window>(options.networks ?? LOGIN_LIMIT_NETWORKS)

  function current (key: string, now: number): Window {
    let window = windows.get(key)
    if (window === undefined || now - window.startedAt >= options.windowMs) {
      window = { count: 0, startedAt: now }
      windows.set(key, window)
    }
    return window
  }

  return {
    /**
     * Takes one login from the address's allowance, or returns false when it is used up. Taken
     * before the login awaits anything, so parallel logins can't all pass one check.
     */
    take (address: string): boolean {
      if (options.limit === 0) return true
      const window = current(clientNetwork(address), performance.now())
      if (window.count >= options.limit) return false
      window.count++
      return true
    },

    /** Gives back a login that created nobody (handle taken, table full, database failure). */
    giveBack (address: string): void {
      if (options.limit === 0) return
      const window = windows.get(clientNetwork(address))
      if (window !== undefined && window.count > 0) window.count--
    },

    /** Seconds until the address's window ends (for Retry-After). */
    retryAfterSeconds (address: string): number {
      const window = windows.get(clientNetwork(address))
      if (window === undefined) return 0
      return Math.max(1, Math.ceil((window.startedAt + options.windowMs - performance.now()) / 1000))
    }
  }
}

export type LoginLimit = ReturnType<typeof createLoginLimit>
