import { LRUCache } from 'lru-cache'

/**
 * A session cookie is 76 characters (a 32-character id, a dot, a 43-character signature): anything
 * much longer is not ours and is refused before any work is done on it.
 */
export const SESSION_COOKIE_MAX_LENGTH = 100

export interface VerifiedCookiesOptions {
  /** Verified cookies remembered at most… */
  entries: number
  /** …and the bytes they may take (cookie and id as UTF-16 strings, about 220 bytes each). */
  bytes: number
}

/** Node's defaults for the poll: more participants than one process serves, about 10 MB at most. */
export const VERIFIED_COOKIES: VerifiedCookiesOptions = { entries: 50_000, bytes: 16 * 1024 * 1024 }

type Unsign = (value: string) => { valid: boolean, value: string | null }

/**
 * The session id in a signed cookie, for the poll. A signed cookie verifies the same way every
 * second, so the HMAC is done once per cookie value and remembered. Only cookies that verified are
 * remembered: anyone can send a new invalid one with every request, nobody can make up valid ones.
 */
export function createCookieVerifier (unsign: Unsign, options: VerifiedCookiesOptions = VERIFIED_COOKIES) {
  const verified = new LRUCache<string, string>({
    max: options.entries,
    maxSize: options.bytes,
    sizeCalculation: (id, cookie) => 2 * (cookie.length + id.length)
  })

  return {
    /** The session id the cookie carries, or null when it is not a cookie this server signed. */
    sessionIdIn (cookie: string): string | null {
      if (cookie.length > SESSION_COOKIE_MAX_LENGTH) return null
      const known = verified.get(cookie)
      if (known !== undefined) return known
      const unsigned = unsign(cookie)
      if (!unsigned.valid || unsigned.value === null) return null
      verified.set(cookie, unsigned.value)
      return unsigned.value
    },

    /** How much is remembered now (for tests and diagnostics). */
    usage (): { entries: number, bytes: number } {
      return { entries: verified.size, bytes: verified.calculatedSize }
    }
  }
}

export type CookieVerifier = ReturnType<typeof createCookieVerifier>
