import { isIP } from 'node:net'

/**
 * A client address in one spelling, so that a ban, the `who` list and METRICS_ALLOW compare like
 * with like: an IPv4 client reaching a dual-stack socket shows as "::ffff:1.2.3.4", and an IPv6
 * address can be written many ways ("2001:DB8:0::1" is "2001:db8::1", the form Node reports).
 */
export function normalizeAddress (address: string): string {
  const lower = address.toLowerCase()
  if (lower.startsWith('::ffff:') && isIP(lower.slice(7)) === 4) return lower.slice(7)
  // The URL parser writes IPv6 hosts in RFC 5952's canonical form.
  if (isIP(lower) === 6) return new URL(`http://[${lower}]/`).hostname.slice(1, -1)
  return lower
}
