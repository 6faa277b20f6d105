import { describe, expect, it } from 'vitest'
import { createLoginThrottle } from '../../src/login-throttle.js'

describe('the refused-login counter', () => {
  it('blocks an address after the limit within the window, and only that address', () => {
    const throttle = createLoginThrottle({ limit: 3, windowMs: 60_000 })
    for (let i = 0; i < 3; i++) {
      expect(throttle.isBlocked('10.0.0.1')).toBe(false)
      throttle.recordFailure('10.0.0.1')
    }
    expect(throttle.isBlocked('10.0.0.1')).toBe(true)
    expect(throttle.isBlocked('10.0.0.2')).toBe(false)
  })

  it('counts an IPv6 address for its /64 network: a spray within one network is one address', () => {
    const throttle = createLoginThrottle({ limit: 3, windowMs: 60_000 })
    for (let i = 0; i < 3; i++) throttle.recordFailure(`2001:db8:0:1::${i + 1}`)
    expect(throttle.isBlocked('2001:db8:0:1:ffff::9')).toBe(true)
    expect(throttle.isBlocked('2001:db8:0:2::1')).toBe(false)
    expect(throttle.usage().entries).toBe(1)
  })

  it('lets the address in again when its window is over', async () => {
    const throttle = createLoginThrottle({ limit: 2, windowMs: 50 })
    throttle.recordFailure('10.0.0.1')
    throttle.recordFailure('10.0.0.1')
    expect(throttle.isBlocked('10.0.0.1')).toBe(true)
    await new Promise((resolve) => setTimeout(resolve, 80))
    expect(throttle.isBlocked('10.0.0.1')).toBe(false)
    throttle.recordFailure('10.0.0.1')
    expect(throttle.isBlocked('10.0.0.1')).toBe(false)
  })

  it('remembers at most its number of addresses, in bounded bytes, whatever they are', () => {
    const throttle = createLoginThrottle({ limit: 20, windowMs: 60_000, addresses: 100 })
    for (let i = 0; i < 5000; i++) throttle.recordFailure(`2001:db8:${i.toString(16)}::1`)
    // A proxy that passes X-Forwarded-For on unchecked can make an "address" of anything.
    for (let i = 0; i < 100; i++) throttle.recordFailure(`${i}-` + 'x'.repeat(6000))
    expect(throttle.usage().entries).toBe(100)
    expect(throttle.usage().bytes).toBeLessThanOrEqual(100 * 256)
  })
})
