import { spawnSync } from 'node:child_process'
import type { FastifyInstance, LightMyRequestResponse } from 'fastify'
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { POST_NOTICES } from '../../src/routes/post.js'
import { buildTestApp, createTestDatabase, Person, type TestDatabase } from '../helpers/app.js'

/*
 * Issue 5, output encoding: hostile messages and handles go in, and what comes out is parsed by a
 * real XML parser (xmllint). Nothing from the input may become markup (an element, an attribute,
 * a script), every page stays well-formed XHTML, and the text reads back exactly as typed (after
 * strip_tags and the removal of characters XML forbids, see src/message-text.ts): escaped once,
 * never twice.
 */

// ---------------------------------------------------------------------------------------------
// XML

interface XmlResult {
  wellFormed: boolean
  /** xmllint's complaint when the document is not well-formed. */
  error: string
  /** The XPath result (a string), when one was asked for and the document is well-formed. */
  value: string
}

/**
 * Parses a page with libxml2 (no network, no DTD loading) and optionally evaluates one XPath
 * expression on it. XHTML elements live in a namespace, hence `local-name()` in the expressions.
 */
function xml (document: string, xpath?: string): XmlResult {
  const run = (args: string[]) => {
    const result = spawnSync('xmllint', ['--nonet', ...args, '-'], { input: document, encoding: 'utf8' })
    if (result.error !== undefined) throw result.error
    return result
  }
  // One run in the usual case: an XPath query fails on a document that is not well-formed, and
  // only then is the parser asked again for its complaint.
  const queried = run(xpath === undefined ? ['--noout'] : ['--xpath', xpath])
  if (queried.status === 0) return { wellFormed: true, error: '', value: xpath === undefined ? '' : queried.stdout.replace(/\n$/, '') }
  const parsed = xpath === undefined ? queried : run(['--noout'])
  if (parsed.status === 0) throw new Error(`xmllint --xpath ${String(xpath)}: ${queried.stderr}`)
  return { wellFormed: false, error: parsed.stderr.split('\n')[0] ?? '', value: '' }
}

/** Separates the fields of one XPath answer; a private-use character no corpus entry contains. */
const FIELD = '\uE000'

/** What a thread.php answer holds, read by the XML parser: the shape of #contents and its texts. */
const THREAD_XPATH = 'concat(' + [
  'count(//*[@id="contents"])',
  'count(//*[@id="contents"]//*)',
  'count(//*[@id="contents"]//*/@*)',
  'count(//*[local-name()="script"])',
  'count(//*[local-name()="body"]//@*[starts-with(local-name(), "on")])',
  'string(//*[@id="contents"]/*[1]/*[1])',
  'string(//*[@id="contents"]/*[1]/text())'
].join(`, "${FIELD}", `) + ')'

interface ThreadView {
  contents: number
  elements: number
  attributes: number
  scripts: number
  handlers: number
  name: string
  text: string
}

function readThread (body: string): ThreadView | string {
  const parsed = xml(body, THREAD_XPATH)
  if (!parsed.wellFormed) return `not well-formed XML: ${parsed.error}`
  const [contents, elements, attributes, scripts, handlers, name = '', text = ''] = parsed.value.split(FIELD)
  return {
    contents: Number(contents),
    elements: Number(elements),
    attributes: Number(attributes),
    scripts: Number(scripts),
    handlers: Number(handlers),
    name,
    text
  }
}

// ---------------------------------------------------------------------------------------------
// Escaping, written out again here so that the test does not trust the code it checks

const ENTITIES: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"', '#39': "'" }

/** The five characters our escape produces, and `&` only as the start of one of its entities. */
const ESCAPED_ONCE = /^(?:[^<>"'&]|&(?:lt|gt|amp|quot|#39);)*$/

function unescapeOnce (html: string): string {
  return html.replace(/&(lt|gt|amp|quot|#39);/g, (_match, name: string) => ENTITIES[name] as string)
}

function escapeOnce (text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;')
}

/** Characters XML 1.0 does not allow in a document. */
function withoutXmlInvalid (text: string): string {
  return text.replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, '')
}

// ---------------------------------------------------------------------------------------------
// The corpus

type Refusal = 'empty' | 'too-long'

interface HostileMessage {
  label: string
  /** What the user typed; or the bytes of the urlencoded value, for what a browser would not send. */
  sent: string | Buffer
  /** What everybody must read: the text after strip_tags and XML clean-up, or the refusal notice. */
  expected: string | { refused: Refusal }
}

const raw = (...parts: Array<string | number[]>): Buffer =>
  Buffer.concat(parts.map((part) => typeof part === 'string' ? Buffer.from(part, 'latin1') : Buffer.from(part)))

const MESSAGES: HostileMessage[] = [
  // Tags and attributes: stripped as PHP's strip_tags() does; what is left is text.
  { label: 'script element', sent: '<script>alert(1)</script>', expected: 'alert(1)' },
  { label: 'img onerror', sent: '<img src=x onerror=alert(1)>', expected: { refused: 'empty' } },
  { label: 'img onerror inside text', sent: 'hi <img src=x onerror=alert(2)> there', expected: 'hi  there' },
  { label: 'svg onload', sent: '<svg/onload=alert(3)>x', expected: 'x' },
  { label: 'javascript: link', sent: '<a href="javascript:alert(4)">click</a>', expected: 'click' },
  { label: 'iframe', sent: '<iframe src="javascript:alert(5)"></iframe>ok', expected: 'ok' },
  { label: '> inside a quoted attribute', sent: '<b onmouseover="alert(\'>\')">bold</b>', expected: 'bold' },
  { label: 'nested tags', sent: '<scr<script>ipt>alert(6)</scr</script>ipt>', expected: 'alert(6)' },
  { label: 'unclosed tag', sent: 'a<b onclick=alert(7)', expected: 'a' },
  { label: 'upper-case tag', sent: '<SCRIPT SRC=//evil.example/x.js></SCRIPT>upper', expected: 'upper' },
  { label: 'style tag', sent: '<style>body{background:url("javascript:alert(8)")}</style>css', expected: 'body{background:url("javascript:alert(8)")}css' },
  { label: '< followed by a space is text', sent: '< script>alert(9)< /script>', expected: '< script>alert(9)< /script>' },
  { label: 'comparisons', sent: '1 < 2 > 0', expected: '1 < 2 > 0' },
  { label: 'trailing <', sent: 'x<', expected: 'x<' },
  { label: 'breaking out of an attribute', sent: '"><script>alert(10)</script>', expected: '">alert(10)' },
  { label: 'breaking out of a single-quoted attribute', sent: '\'"><img src=x onerror=alert(11)>', expected: '\'">' },
  { label: 'handler-looking text', sent: 'onerror=alert(12) onload=x style=x:expression(alert(12))', expected: 'onerror=alert(12) onload=x style=x:expression(alert(12))' },
  { label: 'double-quoted attribute text', sent: '" onmouseover="alert(13)', expected: '" onmouseover="alert(13)' },
  { label: 'single-quoted attribute text', sent: '\' onfocus=\'alert(14)\' autofocus=\'', expected: '\' onfocus=\'alert(14)\' autofocus=\'' },
  { label: 'javascript: as text', sent: 'javascript:alert(15)', expected: 'javascript:alert(15)' },
  { label: 'data: URL as text', sent: 'data:text/html;base64,PHNjcmlwdD5hbGVydCgxNik8L3NjcmlwdD4=', expected: 'data:text/html;base64,PHNjcmlwdD5hbGVydCgxNik8L3NjcmlwdD4=' },

  // Entities: kept as typed, escaped once on output, never decoded.
  { label: 'escaped tags', sent: '&lt;script&gt;alert(17)&lt;/script&gt;', expected: '&lt;script&gt;alert(17)&lt;/script&gt;' },
  { label: 'double-escaped <', sent: '&amp;lt;', expected: '&amp;lt;' },
  { label: 'decimal reference', sent: '&#60;script&#62;alert(18)', expected: '&#60;script&#62;alert(18)' },
  { label: 'hex reference', sent: '&#x3c;img src=x onerror=alert(19)&#x3e;', expected: '&#x3c;img src=x onerror=alert(19)&#x3e;' },
  { label: 'padded and unterminated references', sent: '&#0000060; &#x0003C &LT &lt &nbsp; &apos; &', expected: '&#0000060; &#x0003C &LT &lt &nbsp; &apos; &' },
  { label: 'bare ampersands', sent: '&& &; &#; &#x; a&b', expected: '&& &; &#; &#x; a&b' },
  { label: 'escapes of other languages', sent: '\\x3cscript\\x3e \\u003c %3Cscript%3E', expected: '\\x3cscript\\x3e \\u003c %3Cscript%3E' },
  { label: 'quotes', sent: 'say "hi" it\'s `fine`', expected: 'say "hi" it\'s `fine`' },

  // Ending the script, the CDATA section or the document.
  { label: 'closing script', sent: '</script><script>alert(20)</script>', expected: 'alert(20)' },
  { label: 'closing script as text', sent: '&lt;/script&gt; < /script>', expected: '&lt;/script&gt; < /script>' },
  { label: 'CDATA end', sent: ']]> ]]&gt;', expected: ']]> ]]&gt;' },
  { label: 'CDATA section', sent: 'x <![CDATA[ y ]]> z', expected: 'x  z' },
  { label: 'comment', sent: '<!-- hidden -->visible', expected: 'visible' },
  { label: 'unclosed comment', sent: 'before<!-- after', expected: 'before' },
  { label: 'comment end', sent: '--> -- >', expected: '--> -- >' },
  { label: 'processing instruction', sent: '<?php echo 1; ?>php', expected: 'php' },
  { label: 'doctype', sent: '<!DOCTYPE x [<!ENTITY e "boom">]>doc &e;', expected: 'doc &e;' },
  { label: 'closing the page', sent: '</div></div></body></html>tail', expected: 'tail' },

  // Unicode tricks: all of them are text and come back unchanged.
  { label: 'line and paragraph separators', sent: 'line\u2028sep\u2029para', expected: 'line\u2028sep\u2029para' },
  { label: 'right-to-left override', sent: 'file\u202Egnp.exe', expected: 'file\u202Egnp.exe' },
  { label: 'fullwidth brackets', sent: '\uFF1Cscript\uFF1Ealert(21)\uFF1C/script\uFF1E', expected: '\uFF1Cscript\uFF1Ealert(21)\uFF1C/script\uFF1E' },
  { label: 'small and other brackets', sent: '\uFE64b\uFE65 \u2039i\u203A \u3008u\u3009 \u02C2s\u02C3', expected: '\uFE64b\uFE65 \u2039i\u203A \u3008u\u3009 \u02C2s\u02C3' },
  { label: 'zero-width characters', sent: 'zero\u200Bwidth\u200C\u200Djoin\u2060er\uFEFFbom', expected: 'zero\u200Bwidth\u200C\u200Djoin\u2060er\uFEFFbom' },
  { label: 'astral emoji and letters', sent: 'emoji \u{1F600} flag \u{1F3F3}\uFE0F\u200D\u{1F308} math \u{1D4B3}', expected: 'emoji \u{1F600} flag \u{1F3F3}\uFE0F\u200D\u{1F308} math \u{1D4B3}' },
  { label: 'combining marks', sent: 'e\u0301 Z\u0351\u0364\u036B', expected: 'e\u0301 Z\u0351\u0364\u036B' },
  { label: 'NEL and no-break space', sent: 'a\u0085b\u00A0c', expected: 'a\u0085b\u00A0c' },
  { label: 'noncharacters U+FFFE and U+FFFF', sent: 'a\uFFFEb\uFFFFc', expected: 'abc' },
  { label: 'replacement character', sent: 'x\uFFFDy', expected: 'x\uFFFDy' },

  // NUL bytes and other control characters.
  { label: 'NUL byte', sent: 'nul\u0000byte', expected: 'nulbyte' },
  { label: 'NUL inside a tag name', sent: '<scr\u0000ipt>alert(22)</scr\u0000ipt>', expected: 'alert(22)' },
  { label: 'NUL before a tag', sent: '\u0000<script>', expected: { refused: 'empty' } },
  { label: 'C0 controls', sent: 'a\u0001\u0002\u0008\u000B\u000C\u000E\u001Fb\u007Fc', expected: 'ab\u007Fc' },
  { label: 'line breaks and tabs', sent: 'tab\there\r\nnew\nline\r', expected: 'tab here new line' },
  { label: 'only spaces around', sent: '   padded   ', expected: 'padded' },
  { label: 'escape character', sent: '\u001B[31mred\u001B[0m', expected: '[31mred[0m' },

  // Bytes no browser sends: not UTF-8, lone surrogates (CESU-8), overlong forms of "<".
  { label: 'raw invalid UTF-8', sent: raw('a', [0xff, 0xfe], 'b'), expected: 'a\uFFFD\uFFFDb' },
  { label: 'raw lone surrogate (CESU-8)', sent: raw('a', [0xed, 0xa0, 0x80], 'b'), expected: 'a\uFFFD\uFFFD\uFFFDb' },
  { label: 'raw surrogate pair (CESU-8)', sent: raw('a', [0xed, 0xa0, 0xbd, 0xed, 0xb8, 0x80], 'b'), expected: 'a\uFFFD\uFFFD\uFFFD\uFFFD\uFFFD\uFFFDb' },
  { label: 'raw truncated 4-byte sequence', sent: raw('a', [0xf0, 0x9f, 0x98], 'b'), expected: 'a\uFFFDb' },
  { label: 'raw overlong <', sent: raw([0xc0, 0xbc], 'script', [0xc0, 0xbe], 'x'), expected: '\uFFFD\uFFFDscript\uFFFD\uFFFDx' },
  { label: 'raw NUL and controls', sent: raw('n', [0x00], 'u', [0x01], 'l', [0x1f]), expected: 'nul' },
  // A broken %-escape leaves the whole value as typed (as PHP's urldecode() leaves the escape).
  { label: 'escaped lone surrogate', sent: raw('a%ED%A0%80b'), expected: 'a%ED%A0%80b' },
  { label: 'escaped overlong <', sent: raw('%C0%BCscript%C0%BE'), expected: '%C0%BCscript%C0%BE' },
  { label: '%u escape', sent: raw('%u003Cscript%u003E'), expected: '%u003Cscript%u003E' },
  { label: 'escaped NUL', sent: raw('%3Cb%00%3Ebolder'), expected: 'bolder' },

  // Length: 255 characters (code points) fit, whatever their width in UTF-16 or UTF-8.
  { label: '255 ampersands', sent: '&'.repeat(255), expected: '&'.repeat(255) },
  { label: '255 quotes', sent: '"\''.repeat(127) + '"', expected: '"\''.repeat(127) + '"' },
  { label: '255 astral characters', sent: '\u{1F480}'.repeat(255), expected: '\u{1F480}'.repeat(255) },
  { label: '256 characters', sent: 'é'.repeat(256), expected: { refused: 'too-long' } },
  { label: 'long before strip_tags, short after', sent: '<i>' + 'y'.repeat(255) + '</i>', expected: 'y'.repeat(255) }
]

interface HostileHandle {
  label: string
  who: string
  /** The error paragraph that must come back. */
  error: 'invalid' | 'tooLong'
}

const HANDLE_ERRORS = {
  invalid: '<p class="error">Handles may only contain letters, numbers, hyphens and dashes.</p>',
  tooLong: '<p class="error">Handles may be at most 20 characters long.</p>'
}

const REFUSED_HANDLES: HostileHandle[] = [
  { label: 'attribute break-out', who: '"><script>alert(1)</script>', error: 'invalid' },
  { label: 'single-quote break-out', who: '\' onfocus=\'alert(2)\' autofocus=\'', error: 'invalid' },
  { label: 'event handler', who: '" onmouseover="alert(3)', error: 'invalid' },
  { label: 'img tag', who: '<img src=x onerror=alert(4)>', error: 'invalid' },
  { label: 'closing the input', who: '"/><b>bold</b><input value="', error: 'invalid' },
  { label: 'entity', who: '&quot;&gt;', error: 'invalid' },
  { label: 'double-escaped entity', who: '&amp;lt;', error: 'invalid' },
  { label: 'numeric reference', who: '&#34;&#x22;', error: 'invalid' },
  { label: 'javascript: URL', who: 'javascript:alert(5)', error: 'invalid' },
  { label: 'CDATA end', who: ']]>', error: 'invalid' },
  { label: 'comment', who: '<!--', error: 'invalid' },
  { label: 'closing script', who: '</script>', error: 'invalid' },
  { label: 'path', who: '../admin', error: 'invalid' },
  { label: 'space inside', who: 'ali ce', error: 'invalid' },
  { label: 'NUL byte', who: 'alice\u0000', error: 'invalid' },
  { label: 'control characters', who: 'a\u0001\u001Fb', error: 'invalid' },
  { label: 'escape sequence', who: '\u001B[31malice', error: 'invalid' },
  { label: 'right-to-left override', who: '\u202Eecila', error: 'invalid' },
  { label: 'fullwidth letters', who: '\uFF41\uFF4C\uFF49\uFF43\uFF45', error: 'invalid' },
  { label: 'fullwidth brackets', who: '\uFF1Cscript\uFF1E', error: 'invalid' },
  { label: 'zero-width space', who: 'ali\u200Bce', error: 'invalid' },
  { label: 'accented letter', who: 'al\u00EDce', error: 'invalid' },
  { label: 'combining accent', who: 'ali\u0301ce', error: 'invalid' },
  { label: 'Cyrillic look-alike', who: '\u0430lice', error: 'invalid' },
  { label: 'dotless i', who: 'al\u0131ce', error: 'invalid' },
  { label: 'astral emoji', who: '\u{1F600}', error: 'invalid' },
  { label: 'line separator inside', who: 'a\u2028b', error: 'invalid' },
  { label: 'noncharacter', who: 'a\uFFFEb', error: 'invalid' },
  { label: 'too long', who: 'a'.repeat(21), error: 'tooLong' },
  { label: 'very long', who: 'b'.repeat(300), error: 'tooLong' }
]

/** Valid by the original's rule, and still odd: JavaScript object keys, only punctuation, 20 characters. */
const ODD_VALID_HANDLES = ['__proto__', 'constructor', 'tostring', 'hasownproperty', '-', '_', '0', '--', '-_-', 'a'.repeat(20), 'UPPER-case_09']

// ---------------------------------------------------------------------------------------------

let database: TestDatabase
let app: FastifyInstance

beforeAll(async () => { database = await createTestDatabase() })
afterAll(async () => { await database.drop() })
beforeEach(async () => {
  // Flood control and the refused-login limit are tested elsewhere; here they would only get in the way.
  app = await buildTestApp(database.url, { FLOOD_BURST_COUNT: '10000', FLOOD_SUSTAINED_COUNT: '10000', LOGIN_FAILURE_LIMIT: '100000' })
})
afterEach(async () => {
  await app.close()
  await database.clear()
})

/** Posts the value of the message field as these bytes (a browser would percent-encode text). */
async function postBytes (person: Person, value: string | Buffer): Promise<LightMyRequestResponse> {
  const encoded = typeof value === 'string' ? Buffer.from(new URLSearchParams({ message: value }).toString().slice('message='.length)) : value
  return await app.inject({
    method: 'POST',
    url: '/post.php',
    headers: { cookie: person.cookie, 'content-type': 'application/x-www-form-urlencoded' },
    payload: Buffer.concat([Buffer.from(`token=${person.token}&message=`), encoded])
  })
}

/** One poll of the thread frame, following its script to the next URL; returns the whole page. */
async function pollPage (person: Person): Promise<LightMyRequestResponse> {
  const response = await person.request('GET', person.cursorUrl)
  const next = /var u="([^"]+)"/.exec(response.body)
  if (next !== null) person.cursorUrl = '/' + (next[1] as string)
  return response
}

/** What is wrong with one thread.php page that should show `expected` from alice (or nothing). */
function threadProblems (response: LightMyRequestResponse, expected: string | null): string[] {
  if (response.statusCode !== 200) return [`poll answered ${response.statusCode}`]
  const view = readThread(response.body)
  if (typeof view === 'string') return [view]
  const problems: string[] = []
  if (view.scripts !== 1) problems.push(`${view.scripts} script elements`)
  if (view.handlers !== 0) problems.push(`${view.handlers} event-handler attributes`)
  if (expected === null) {
    if (view.contents !== 0) problems.push(`a refused message was delivered: ${JSON.stringify(view.text)}`)
    return problems
  }
  // One <div><strong>NAME: </strong>TEXT</div>: two elements, no attributes; more is live markup.
  if (view.contents !== 1 || view.elements !== 2 || view.attributes !== 0) {
    problems.push(`#contents has ${view.contents} copies, ${view.elements} elements, ${view.attributes} attributes`)
  }
  if (view.name !== 'alice: ') problems.push(`name reads ${JSON.stringify(view.name)}`)
  if (view.text !== expected) problems.push(`the XML parser reads ${JSON.stringify(view.text)}`)
  const html = /<div><strong>alice: <\/strong>([\s\S]*?)<\/div><\/div>/.exec(response.body)?.[1]
  if (html === undefined) {
    problems.push('no message markup')
  } else {
    if (!ESCAPED_ONCE.test(html)) problems.push(`unescaped or odd markup in ${JSON.stringify(html)}`)
    if (unescapeOnce(html) !== expected) problems.push(`unescaped once it reads ${JSON.stringify(unescapeOnce(html))}`)
    if (html !== escapeOnce(expected)) problems.push(`escaped as ${JSON.stringify(html)}, not ${JSON.stringify(escapeOnce(expected))}`)
  }
  return problems
}

describe('hostile messages', () => {
  it('come out as inert, well-formed text that reads exactly as typed (after strip_tags)', async () => {
    const accepted = MESSAGES.flatMap((m) => typeof m.expected === 'string' ? [m.expected] : [])
    expect(new Set(accepted).size).toBe(accepted.length) // a repeat would be refused as a duplicate

    const alice = new Person(app, 'alice')
    const bob = new Person(app, 'bob')
    await alice.join()
    await bob.join()
    const failures: string[] = []
    for (const message of MESSAGES) {
      const expected = typeof message.expected === 'string' ? message.expected : null
      const problems: string[] = []
      const posted = await postBytes(alice, message.sent)
      const location = expected === null ? `post.php?notice=${(message.expected as { refused: Refusal }).refused}` : 'post.php'
      if (posted.statusCode !== 302 || posted.headers.location !== location) {
        problems.push(`post answered ${posted.statusCode} ${String(posted.headers.location)}, expected 302 ${location}`)
      }
      const bobs = await pollPage(bob)
      problems.push(...threadProblems(bobs, expected))
      // The sender reads the very same page (both polls start from the same cursor).
      const alices = await pollPage(alice)
      if (alices.body !== bobs.body) problems.push(`alice's poll differs from bob's: ${JSON.stringify(alices.body.slice(0, 300))}`)
      if (problems.length > 0) failures.push(`${message.label} ${JSON.stringify(message.sent.toString())} → ${problems.join('; ')}`)
    }
    expect(failures).toEqual([])
  })

  it('a refused message gets a notice page that is well-formed and whose script holds the notice exactly', async () => {
    const alice = new Person(app, 'alice')
    await alice.join()
    const failures: string[] = []
    for (const [refusal, sent] of [['empty', '<b></b>'], ['too-long', 'x'.repeat(256)]] as const) {
      const posted = await postBytes(alice, sent)
      expect(posted.headers.location).toBe(`post.php?notice=${refusal}`)
      const page = await alice.request('GET', `/${posted.headers.location as string}`)
      failures.push(...noticePageProblems(`notice ${refusal}`, page, POST_NOTICES[refusal] as string))
    }
    expect(failures).toEqual([])
  })
})

/** A worker frame that shows `notice` in the chat window: well-formed, inert, the text intact. */
function noticePageProblems (label: string, page: LightMyRequestResponse, notice: string): string[] {
  const problems: string[] = []
  const parsed = xml(page.body, 'concat(count(//*[local-name()="script"]), "|", count(//*[local-name()="body"]//*))')
  if (!parsed.wellFormed) problems.push(`not well-formed XML: ${parsed.error}`)
  else if (parsed.value !== '1|1') problems.push(`scripts|elements in body = ${parsed.value}, expected 1|1`)
  const script = /<script type="text\/javascript">([\s\S]*?)<\/script>/.exec(page.body)?.[1] ?? ''
  // Inside a script of an XHTML page read as HTML, "<" could end it and "&" means different things
  // to the two parsers: the string literal must carry neither.
  if (/[<>&]/.test(script)) problems.push(`script contains < > or &: ${JSON.stringify(script)}`)
  const literal = /parent\.showNotice\(("(?:[^"\\]|\\.)*")\)/.exec(script)?.[1]
  if (literal === undefined) problems.push(`no showNotice call in ${JSON.stringify(script)}`)
  else if (JSON.parse(literal) !== notice) problems.push(`the notice reads ${JSON.stringify(JSON.parse(literal))}`)
  return problems.map((problem) => `${label}: ${problem}`)
}

describe('notice pages', () => {
  it('post.php shows each notice intact and ignores unknown or hostile notice names', async () => {
    const failures: string[] = []
    for (const [name, notice] of Object.entries(POST_NOTICES)) {
      const page = await app.inject(`/post.php?notice=${encodeURIComponent(name)}`)
      if (page.statusCode !== 200) failures.push(`notice ${name}: status ${page.statusCode}`)
      else failures.push(...noticePageProblems(`notice ${name}`, page, notice))
    }
    const expired = await app.inject('/post.php?notice=expired')
    expect(xml(expired.body).wellFormed).toBe(true)
    expect(expired.body).toContain('top.location.replace("./login.php?logout=true\\u0026reason=expired")')
    expect(expired.body).toContain('<a href="./login.php?logout=true&amp;reason=expired" target="_top">')

    const plain = await app.inject('/post.php')
    const hostile = ['<script>alert(1)</script>', '"><img src=x onerror=alert(1)>', '</script>', ']]>', '%00', 'expired%00',
      'failed"', '__proto__', 'constructor', 'toString', 'hasOwnProperty', 'valueOf']
    for (const name of hostile) {
      const page = await app.inject(`/post.php?notice=${encodeURIComponent(name)}`)
      if (page.statusCode !== 200 || page.body !== plain.body) {
        failures.push(`notice ${JSON.stringify(name)}: expected the plain post.php page, got ${page.statusCode} ${JSON.stringify(page.body.slice(0, 100))}`)
      }
    }
    expect(failures).toEqual([])
  })

  it('post.php refusals without a redirect are well-formed and intact too', async () => {
    const alice = new Person(app, 'alice')
    await alice.join()
    const missing = await alice.request('POST', '/post.php', { token: alice.token })
    expect(missing.statusCode).toBe(400)
    const forged = await alice.request('POST', '/post.php', { token: 'not-the-token', message: '<script>alert(1)</script>' })
    expect(forged.statusCode).toBe(403)
    expect([
      ...noticePageProblems('missing message', missing, 'No message was sent.'),
      ...noticePageProblems('forged', forged, POST_NOTICES.forged as string)
    ]).toEqual([])
  })

  it('login.php shows no notice for unknown or hostile reasons', async () => {
    const failures: string[] = []
    const plain = await app.inject('/login.php')
    for (const reason of ['<script>alert(1)</script>', '"><b>x</b>', 'expired"', '__proto__', 'constructor', 'toString', 'hasOwnProperty']) {
      const page = await app.inject(`/login.php?reason=${encodeURIComponent(reason)}`)
      if (page.statusCode !== 200 || page.body !== plain.body) {
        const notice = /<p class="notice">[\s\S]*?<\/p>/.exec(page.body)?.[0] ?? page.body.slice(0, 100)
        failures.push(`reason ${JSON.stringify(reason)}: ${page.statusCode} ${JSON.stringify(notice)}`)
      }
    }
    expect(failures).toEqual([])
  })
})

describe('hostile handles', () => {
  it('are refused, and echoed into the form escaped once and well-formed', async () => {
    const failures: string[] = []
    for (const handle of REFUSED_HANDLES) {
      const problems: string[] = []
      const response = await app.inject({
        method: 'POST',
        url: '/login.php',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        payload: new URLSearchParams({ who: handle.who }).toString()
      })
      if (response.statusCode !== 400) problems.push(`status ${response.statusCode}`)
      if (response.cookies.length > 0) problems.push('a cookie was set')
      if (!response.body.includes(HANDLE_ERRORS[handle.error])) problems.push(`no "${handle.error}" error`)
      const echoed = withoutXmlInvalid(handle.who.trim())
      if (!response.body.includes(` value="${escapeOnce(echoed)}" />`)) {
        problems.push(`the field is not value="${escapeOnce(echoed)}": ${JSON.stringify(/<input type="text"[^>]*>/.exec(response.body)?.[0])}`)
      }
      const parsed = xml(response.body, 'concat(count(//*[local-name()="input"]), "|", count(//*[@id="who"]/@*), "|", ' +
        'count(//*[local-name()="script"]), "|", count(//*[local-name()="form"]//*), "|", string(//*[@id="who"]/@value))')
      if (!parsed.wellFormed) {
        problems.push(`not well-formed XML: ${parsed.error}`)
      } else {
        const [inputs, attributes, scripts, formElements, value] = parsed.value.split('|')
        // The form: <p>, <label>, two <input>s; the text field has type, id, name, maxlength, value.
        if (`${inputs}|${attributes}|${scripts}|${formElements}` !== '2|5|0|4') {
          problems.push(`inputs|field attributes|scripts|form elements = ${inputs}|${attributes}|${scripts}|${formElements}, expected 2|5|0|4`)
        }
        if (value !== echoed) problems.push(`the XML parser reads the field as ${JSON.stringify(value)}`)
      }
      if (problems.length > 0) failures.push(`${handle.label} ${JSON.stringify(handle.who)} → ${problems.join('; ')}`)
    }
    expect(await database.query('SELECT * FROM jenChat_Users')).toEqual([])
    expect(failures).toEqual([])
  })

  it('odd but valid handles are shown escaped on the chat page and in the thread', async () => {
    const reader = new Person(app, 'reader')
    await reader.join()
    const failures: string[] = []
    for (const handle of ODD_VALID_HANDLES) {
      const problems: string[] = []
      const person = new Person(app, handle)
      await person.join()
      const chat = await person.request('GET', '/chat.php')
      const parsedChat = xml(chat.body, 'string(//*[local-name()="p"][1]/*[local-name()="strong"])')
      if (!parsedChat.wellFormed) problems.push(`chat.php is not well-formed XML: ${parsedChat.error}`)
      else if (parsedChat.value !== handle) problems.push(`chat.php names them ${JSON.stringify(parsedChat.value)}`)
      await person.say(`from ${handle}`)
      const page = await pollPage(reader)
      const parsed = xml(page.body, 'concat(count(//*[@id="contents"]//*), "|", string(//*[@id="contents"]/*[1]/*[1]))')
      if (!parsed.wellFormed) problems.push(`thread.php is not well-formed XML: ${parsed.error}`)
      else if (parsed.value !== `2|${handle}: `) problems.push(`thread.php reads ${JSON.stringify(parsed.value)}`)
      if (problems.length > 0) failures.push(`${JSON.stringify(handle)} → ${problems.join('; ')}`)
    }
    expect(failures).toEqual([])
  })
})
