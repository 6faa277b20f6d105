import { describe, expect, it } from 'vitest'
import { normalizeAddress } from '../../src/client-address.js'

describe('normalizeAddress', () => {
  it('writes each address one way, as Node reports a client', () => {
    expect(normalizeAddress('192.0.2.7')).toBe('192.0.2.7')
    expect(normalizeAddress('::ffff:192.0.2.7')).toBe('192.0.2.7')
    expect(normalizeAddress('::FFFF:192.0.2.7')).toBe('192.0.2.7')
    expect(normalizeAddress('2001:DB8:0:0::1')).toBe('2001:db8::1')
    expect(normalizeAddress('2001:0db8:0000:0000:0000:0000:0000:0001')).toBe('2001:db8::1')
    expect(normalizeAddress('::1')).toBe('::1')
  })
})
