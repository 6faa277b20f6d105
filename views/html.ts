import { removeInvalidCharacters } from '../src/message-text.js'

/**
 * Escaped-by-default HTML: every value interpolated into `html\`…\`` is escaped, except markup that
 * was itself built by `html` or explicitly passed through `trusted()`, the one opt-out (grep for it).
 */
export class SafeHtml {
  constructor (readonly value: string) {}
  toString (): string { return this.value }
}

const ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;'
}

/**
 * The one escape function for text and attribute values (also safe inside single quotes). It also
 * drops characters XML forbids (NUL, other controls, lone surrogates), which no escape can make valid.
 */
export function escapeHtml (text: string): string {
  return removeInvalidCharacters(text).replace(/[&<>"']/g, (c) => ESCAPES[c] as string)
}

/** Marks markup as already safe. Only for strings this program built itself. */
export function trusted (markup: string): SafeHtml {
  return new SafeHtml(markup)
}

type Value = SafeHtml | string | number | null | undefined | false | readonly Value[]

function render (value: Value): string {
  if (value === null || value === undefined || value === false) return ''
  if (value instanceof SafeHtml) return value.value
  if (Array.isArray(value)) return value.map(render).join('')
  return escapeHtml(String(value))
}

export function html (strings: TemplateStringsArray, ...values: Value[]): SafeHtml {
  let out = strings[0] as string
  for (let i = 0; i < values.length; i++) out += render(values[i] as Value) + (strings[i + 1] as string)
  return new SafeHtml(out)
}

/**
 * A string literal for an inline ES3 script: escapes quotes and backslashes, and everything that
 * could end the script element or the XHTML document (`<`, `>`, `&`) or isn't ASCII.
 */
export function jsString (text: string): SafeHtml {
  let out = '"'
  for (const ch of text) {
    const code = ch.codePointAt(0) as number
    if (ch === '"' || ch === '\\') out += '\\' + ch
    else if (code >= 0x20 && code < 0x7f && ch !== '<' && ch !== '>' && ch !== '&') out += ch
    else {
      for (let i = 0; i < ch.length; i++) out += '\\u' + ch.charCodeAt(i).toString(16).padStart(4, '0')
    }
  }
  return new SafeHtml(out + '"')
}
