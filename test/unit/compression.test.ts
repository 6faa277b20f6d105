import { describe, expect, it } from 'vitest'
import { mishandlesGzip, USER_AGENT_CHECKED_LENGTH } from '../../src/compression.js'

describe('browsers that mishandle gzip', () => {
  it.each([
    ['Mozilla/4.0 (compatible; MSIE 6.0; Windows NT 5.1)', true],
    ['Mozilla/4.0 (compatible; MSIE 5.5; Windows 98)', true],
    ['Mozilla/4.0 (compatible; MSIE 6.0; Windows NT 5.1; SV1)', false],
    ['Mozilla/4.0 (compatible; MSIE 6.0; Windows NT 5.1; SV1; .NET CLR 1.1.4322; .NET CLR 2.0.50727; .NET CLR 3.0.04506.30; .NET CLR 3.0.4506.2152; .NET CLR 3.5.30729; InfoPath.2)', false],
    ['Mozilla/4.0 (compatible; MSIE 7.0; Windows NT 5.1)', false],
    ['Mozilla/4.0 (compatible; MSIE 8.0; Windows NT 6.1; Trident/4.0)', false],
    // A later MSIE 1–6 token without SV1 after it, as in the nginx/Apache regex.
    ['Mozilla/4.0 (compatible; MSIE 6.0; SV1) MSIE 5.0', true],
    ['Mozilla/4.0 (compatible; MSIE 5.0) MSIE 6.0; SV1', false],
    ['Mozilla/4.06 [en] (Win95; I)', true],
    ['Mozilla/4.07 [en] (WinNT; I)', true],
    ['Mozilla/4.08 [en] (WinNT; I)', true],
    ['Mozilla/4.05 [en] (WinNT; I)', false],
    ['Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0', false],
    ['', false]
  ])('%j: %s', (userAgent, expected) => {
    expect(mishandlesGzip(userAgent)).toBe(expected)
  })

  it('reads only the first part of a User-Agent, so its cost does not grow with what a client sends', () => {
    const padding = 'x'.repeat(USER_AGENT_CHECKED_LENGTH)
    expect(USER_AGENT_CHECKED_LENGTH).toBeLessThanOrEqual(1024)
    // Marks past the checked part are not seen: neither an old IE…
    expect(mishandlesGzip(padding + ' MSIE 6.0; Windows NT 5.1')).toBe(false)
    // …nor an SV1 that would follow an old IE's mark; a mark within it still counts.
    expect(mishandlesGzip('MSIE 6.0; ' + padding + ' SV1')).toBe(true)
    // The quadratic case of the old regex: "MSIE 6." repeated, no SV1.
    expect(mishandlesGzip('MSIE 6.'.repeat(16_000 / 7))).toBe(true)
  })
})
