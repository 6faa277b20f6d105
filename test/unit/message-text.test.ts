import { describe, expect, it } from 'vitest'
import { prepareMessage, removeInvalidCharacters, stripTags } from '../../src/message-text.js'
import { escapeHtml, html, jsString, trusted } from '../../views/html.js'

describe('stripTags (PHP strip_tags semantics)', () => {
  it.each([
    ['plain', 'plain'],
    ['<b>bold</b>', 'bold'],
    ['a <b class="x">b</b> c', 'a b c'],
    ['<a href="x>y">link</a>', 'link'],
    ["<a title='>'>t</a>", 't'],
    ['1 < 2', '1 < 2'],
    ['1 <2', '1 '],
    ['<', '<'],
    ['a<!-- comment -->b', 'ab'],
    ['x<!-- never closed', 'x'],
    ['<<b>>nested', 'nested'],
    ['&lt;b&gt; &amp; "q"', '&lt;b&gt; &amp; "q"'],
    ['<script>alert(1)</script>', 'alert(1)']
  ])('%j → %j', (input, output) => {
    expect(stripTags(input)).toBe(output)
  })
})

describe('prepareMessage', () => {
  it('removes characters XML forbids, keeps tabs as spaces and astral characters', () => {
    expect(removeInvalidCharacters('a\u0000b\u0007c\uffffd\ud800e')).toBe('abcde')
    expect(prepareMessage('a\tb\r\nc 😀')).toEqual({ ok: true, text: 'a b c 😀' })
  })

  it('refuses empty and over-long messages', () => {
    expect(prepareMessage(' <i></i> ')).toEqual({ ok: false, reason: 'empty' })
    expect(prepareMessage('x'.repeat(256))).toEqual({ ok: false, reason: 'too-long' })
    expect(prepareMessage('😀'.repeat(255))).toEqual({ ok: true, text: '😀'.repeat(255) })
  })
})

describe('html templates', () => {
  it('escape every interpolation unless it is trusted markup', () => {
    const name = '<b>"O\'Neil" & co</b>'
    expect(html`<p title="${name}">${name}</p>`.value).toBe(
      '<p title="&lt;b&gt;&quot;O&#39;Neil&quot; &amp; co&lt;/b&gt;">&lt;b&gt;&quot;O&#39;Neil&quot; &amp; co&lt;/b&gt;</p>')
    expect(html`<div>${trusted('<br />')}${html`<i>${'<'}</i>`}</div>`.value).toBe('<div><br /><i>&lt;</i></div>')
    expect(html`${[1, '<', null, undefined, false]}`.value).toBe('1&lt;')
    expect(escapeHtml('&amp;')).toBe('&amp;amp;')
  })

  it('make script string literals that cannot end the script or the document', () => {
    expect(jsString('a"b\\c</script>&é\u2028😀').value).toBe('"a\\"b\\\\c\\u003c/script\\u003e\\u0026\\u00e9\\u2028\\ud83d\\ude00"')
  })
})
