import { Signer } from '@fastify/cookie'
import { describe, expect, it } from 'vitest'
import { createCookieVerifier, SESSION_COOKIE_MAX_LENGTH } from '../../src/verified-cookies.js'

const signer = new Signer('a-test-secret-that-is-at-least-32-chars-long')
const sessionId = (i: number): string => `session-${String(i).padStart(24, '0')}`

/** A verifier that counts the HMACs it does. */
function countingVerifier (options?: { entries: number, bytes: number }) {
  let unsigned = 0
  const verifier = createCookieVerifier((value) => { unsigned++; return signer.unsign(value) }, options)
  return { verifier, unsigned: () => unsigned }
}

describe('the poll\'s verified-cookie cache', () => {
  it('checks a real session cookie once and then remembers it', () => {
    const { verifier, unsigned } = countingVerifier()
    const cookie = signer.sign(sessionId(1))
    expect(cookie.length).toBeLessThanOrEqual(SESSION_COOKIE_MAX_LENGTH)
    for (let i = 0; i < 5; i++) expect(verifier.sessionIdIn(cookie)).toBe(sessionId(1))
    expect(unsigned()).toBe(1)
    expect(verifier.usage().entries).toBe(1)
  })

  it('refuses an over-long cookie without computing its signature', () => {
    const { verifier, unsigned } = countingVerifier()
    const long = signer.sign('x'.repeat(SESSION_COOKIE_MAX_LENGTH))
    expect(verifier.sessionIdIn(long)).toBeNull()
    expect(verifier.sessionIdIn('j'.repeat(15_000))).toBeNull()
    expect(unsigned()).toBe(0)
    expect(verifier.usage()).toEqual({ entries: 0, bytes: 0 })
  })

  it('remembers nothing of a spray of distinct invalid cookies', () => {
    const { verifier } = countingVerifier()
    for (let i = 0; i < 5000; i++) {
      expect(verifier.sessionIdIn(`${sessionId(i)}.forged-signature-${i}`)).toBeNull()
      expect(verifier.sessionIdIn(`junk-${i}-`.repeat(1 + (i % 200)))).toBeNull()
    }
    expect(verifier.usage()).toEqual({ entries: 0, bytes: 0 })
  })

  it('keeps valid cookies within its bounds in entries and in bytes', () => {
    const byEntries = countingVerifier({ entries: 100, bytes: 1024 * 1024 })
    const byBytes = countingVerifier({ entries: 10_000, bytes: 10 * 1024 })
    for (let i = 0; i < 1000; i++) {
      const cookie = signer.sign(sessionId(i))
      expect(byEntries.verifier.sessionIdIn(cookie)).toBe(sessionId(i))
      expect(byBytes.verifier.sessionIdIn(cookie)).toBe(sessionId(i))
    }
    expect(byEntries.verifier.usage().entries).toBe(100)
    expect(byBytes.verifier.usage().bytes).toBeLessThanOrEqual(10 * 1024)
    expect(byBytes.verifier.usage().entries).toBeGreaterThan(10)
    expect(byBytes.verifier.usage().entries).toBeLessThan(100)
  })
})
