import { describe, expect, it } from 'vitest'
import { loadConfig } from '../../src/config.js'
import { createWordFilter, MAX_BLOCKED_ENTRIES, parseBlockedWords } from '../../src/word-filter.js'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

function filter (list: string): ReturnType<typeof createWordFilter> {
  const { phrases, problems } = parseBlockedWords(list)
  expect(problems).toEqual([])
  return createWordFilter(phrases)
}

describe('blocked words', () => {
  const words = filter('# a comment\nÄrger\n\nclass\ncrème brûlée\nDUMMKOPF\n')

  it('masks whole words in any case, accents included', () => {
    expect(words.mask('So ein ärger! ÄRGER, Ärger.')).toBe('So ein *****! *****, *****.')
    expect(words.mask('du Dummkopf')).toBe('du ********')
    expect(words.mask('first class')).toBe('first *****')
  })

  it('masks a phrase word by word, keeping what separates the words', () => {
    expect(words.mask('Une Crème Brûlée, svp')).toBe('Une ***** ******, svp')
    expect(words.mask('crème  brûlée')).toBe('*****  ******')
    // One word of a phrase alone is not the phrase.
    expect(words.mask('crème fraîche')).toBe('crème fraîche')
  })

  it('leaves words that only contain a blocked word alone', () => {
    expect(words.mask('classic classes subclass Ärgernis verärgert')).toBe('classic classes subclass Ärgernis verärgert')
    // Letters beyond ASCII are letters: "Ärger" inside "Ärgerß" or after "é" is not a whole word.
    expect(words.mask('éärger Ärgerß')).toBe('éärger Ärgerß')
  })

  it('matches a word typed with a combining accent (NFD) as the same word', () => {
    expect(words.mask('A\u0308rger')).toBe('******')
  })

  it('changes nothing without a list', () => {
    expect(createWordFilter([]).mask('Ärger class')).toBe('Ärger class')
  })

  it('handles the worst case of a long list, near-misses from every word, without blowing up', () => {
    // Every word starts a partial match of seven words that never completes: the walk stops after
    // at most eight words, so the work is linear (the test's timeout is the guard; speed itself
    // is the benchmark's business).
    const big = filter(Array.from({ length: MAX_BLOCKED_ENTRIES }, (_, i) => `a a a a a a a w${i}`).join('\n'))
    const text = 'a '.repeat(100_000) + 'a a a a a a a w42'
    expect(big.mask(text)).toBe('a '.repeat(100_000) + '* * * * * * * ***')
  })

  it('reports bad lines and too long lists, one line each, through loadConfig', () => {
    const dir = mkdtempSync(join(tmpdir(), 'jenchat-words-'))
    const file = join(dir, 'words.txt')
    writeFileSync(file, `ok\n!!!\n${'x'.repeat(101)}\none two three four five six seven eight nine\n`)
    expect(() => loadConfig({ BLOCKED_WORDS_FILE: file })).toThrow(
      `Invalid configuration:\n  - BLOCKED_WORDS_FILE ${file}: line 2 has no letters or digits\n` +
      `  - BLOCKED_WORDS_FILE ${file}: line 3 is longer than 100 characters\n` +
      `  - BLOCKED_WORDS_FILE ${file}: line 4 has more than 8 words`
    )
    writeFileSync(file, Array.from({ length: MAX_BLOCKED_ENTRIES + 1 }, (_, i) => `w${i}`).join('\n'))
    expect(() => loadConfig({ BLOCKED_WORDS_FILE: file })).toThrow(`more than ${MAX_BLOCKED_ENTRIES} entries`)
    expect(() => loadConfig({ BLOCKED_WORDS_FILE: join(dir, 'missing.txt') })).toThrow(`BLOCKED_WORDS_FILE ${join(dir, 'missing.txt')} cannot be read (ENOENT)`)
    writeFileSync(file, 'Ärger\n')
    expect(loadConfig({ BLOCKED_WORDS_FILE: file }).blockedWords).toEqual([['ärger']])
  })
})
