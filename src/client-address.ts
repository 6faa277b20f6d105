import { isIP } from 'node:net'

/**
 * A client address in one spelling, so that a ban, the `who` list and METRICS_ALLOW compare like
 * with like: an IPv4 client reaching a dual-stack socket shows as "::ffff:1.2.3.4", and IPv6 hex
 * digits may come in either case.
 */
export function normalizeAddress (address: string): string {
  const lower = address.toLowerCase()
  if (lower.startsWith('::ffff:') && isIP(lower.slice(7)) === 4) return lower.slice(7)
  return lower
}
