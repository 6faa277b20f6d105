/**
 * Masks blocked words and phrases (BLOCKED_WORDS_FILE) with asterisks, case-insensitively and only
 * as whole words, in any script: a word is a run of letters, combining marks, digits and "_"
 * (Unicode properties, not ASCII's \b), so "class" leaves "classic" alone and "ärger" masks "Ärger".
 *
 * No regular expression is built from the list (a long alternation is slow and a crafted entry
 * could backtrack): the message is split into words once, and a trie of the blocked phrases is
 * walked from each word, at most MAX_WORDS_PER_ENTRY steps, so the work is linear in the message.
 */

/** Bounds of the list: it is loaded into memory once and walked for every post. */
export const MAX_BLOCKED_ENTRIES = 5000
export const MAX_WORDS_PER_ENTRY = 8
export const MAX_ENTRY_LENGTH = 100

const WORD = /[\p{L}\p{M}\p{N}_]+/gu

interface Word {
  key: string
  start: number
  end: number
}

/** Case and normalization folded, so "Ä" typed as one character or as A + combining mark match. */
function keyOf (word: string): string {
  return word.normalize('NFC').toLowerCase()
}

function wordsOf (text: string): Word[] {
  const words: Word[] = []
  for (const match of text.matchAll(WORD)) {
    words.push({ key: keyOf(match[0]), start: match.index, end: match.index + match[0].length })
  }
  return words
}

/**
 * Reads the file's text: one word or phrase per line; blank lines and lines starting with "#" are
 * skipped. Returns the phrases (each as its words) and one problem per bad line.
 */
export function parseBlockedWords (text: string): { phrases: string[][], problems: string[] } {
  const phrases: string[][] = []
  const problems: string[] = []
  const lines = text.split(/\r?\n/)
  for (let i = 0; i < lines.length; i++) {
    const line = (lines[i] as string).trim()
    if (line === '' || line.startsWith('#')) continue
    const words = wordsOf(line).map((word) => word.key)
    if (line.length > MAX_ENTRY_LENGTH) problems.push(`line ${i + 1} is longer than ${MAX_ENTRY_LENGTH} characters`)
    else if (words.length === 0) problems.push(`line ${i + 1} has no letters or digits`)
    else if (words.length > MAX_WORDS_PER_ENTRY) problems.push(`line ${i + 1} has more than ${MAX_WORDS_PER_ENTRY} words`)
    else phrases.push(words)
    if (phrases.length > MAX_BLOCKED_ENTRIES) {
      problems.push(`more than ${MAX_BLOCKED_ENTRIES} entries`)
      break
    }
  }
  return { phrases, problems }
}

interface TrieNode {
  next: Map<string, TrieNode>
  /** A blocked phrase ends here. */
  end: boolean
}

export function createWordFilter (phrases: ReadonlyArray<readonly string[]>) {
  const root: TrieNode = { next: new Map(), end: false }
  for (const phrase of phrases) {
    let node = root
    for (const word of phrase) {
      let child = node.next.get(word)
      if (child === undefined) {
        child = { next: new Map(), end: false }
        node.next.set(word, child)
      }
      node = child
    }
    node.end = true
  }

  return {
    /** The text with every blocked word or phrase replaced by one "*" per character. */
    mask (text: string): string {
      if (root.next.size === 0) return text
      const words = wordsOf(text)
      let out = ''
      let copied = 0
      let i = 0
      while (i < words.length) {
        // The longest blocked phrase that starts at word i.
        let node: TrieNode | undefined = root
        let last = -1
        for (let j = i; j < words.length && j - i < MAX_WORDS_PER_ENTRY; j++) {
          node = node.next.get((words[j] as Word).key)
          if (node === undefined) break
          if (node.end) last = j
        }
        if (last === -1) {
          i++
          continue
        }
        for (let j = i; j <= last; j++) {
          const word = words[j] as Word
          out += text.slice(copied, word.start) + '*'.repeat([...text.slice(word.start, word.end)].length)
          copied = word.end
        }
        i = last + 1
      }
      return out + text.slice(copied)
    }
  }
}

export type WordFilter = ReturnType<typeof createWordFilter>
