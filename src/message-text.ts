/** What a posted message becomes before it is stored. */

/**
 * PHP's strip_tags(), which the original applied to every message: removes `<…>` tags (quotes
 * inside a tag may contain `>`), HTML comments, and anything after an unclosed `<`; a `<` followed
 * by whitespace is not a tag and stays. Entities and quotes are left as typed (they are escaped on
 * output, never interpreted).
 */
export function stripTags (input: string): string {
  let out = ''
  let depth = 0
  let quote = ''
  for (let i = 0; i < input.length; i++) {
    const c = input[i] as string
    if (depth === 0) {
      if (c === '<') {
        const next = input[i + 1]
        if (next === undefined || /\s/.test(next)) {
          out += c
        } else if (input.startsWith('<!--', i)) {
          const end = input.indexOf('-->', i + 4)
          if (end === -1) break
          i = end + 2
        } else {
          depth = 1
        }
      } else {
        out += c
      }
      continue
    }
    if (quote !== '') {
      if (c === quote) quote = ''
    } else if (c === '"' || c === "'") {
      quote = c
    } else if (c === '<') {
      depth++
    } else if (c === '>') {
      depth--
    }
  }
  return out
}

// Characters XML 1.0 forbids (C0 controls but tab/LF/CR, lone surrogates, U+FFFE/U+FFFF): they
// would make the thread frame's XHTML ill-formed, and NUL bytes are a classic filter bypass.
const NOT_XML = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g

export function removeInvalidCharacters (input: string): string {
  return input.replace(NOT_XML, '')
}

/** The column is varchar(255), counted in characters (code points), not UTF-16 units. */
export const MAX_MESSAGE_LENGTH = 255

export type MessageCheck =
  | { ok: true, text: string }
  | { ok: false, reason: 'empty' | 'too-long' }

export function prepareMessage (raw: string): MessageCheck {
  // Line breaks can't be typed into the one-line field; a pasted one becomes a space.
  const text = stripTags(removeInvalidCharacters(raw)).replace(/[\r\n\t]+/g, ' ').trim()
  if (text === '') return { ok: false, reason: 'empty' }
  if ([...text].length > MAX_MESSAGE_LENGTH) return { ok: false, reason: 'too-long' }
  return { ok: true, text }
}
