import { describe, expect, it } from 'vitest'
import { trusted } from '../../views/html.js'
import { page } from '../../views/layout.js'
import { es3Problems, es3ProblemsIn, pageScripts, xhtmlErrors } from '../helpers/legacy.js'

// The legacy checks must bite: each is shown a page that is right and pages that are wrong.

/** A page in the real page shell (views/layout.ts), with `body` and `head` taken as they are. */
function xhtmlPage (body: string, head = ''): string {
  return page('check', trusted(body), trusted(head))
}

const script = (code: string): string => `<script type="text/javascript">//<![CDATA[\n${code}\n//]]></script>`

describe('the XHTML check (xmllint against the Transitional DTD, offline)', () => {
  it('passes a valid page, with the DTD read from the local catalog', () => {
    expect(xhtmlErrors(xhtmlPage('<p>fine <a href="x" target="_top">link</a></p><iframe src="x" name="f" id="f"></iframe>'))).toBe('')
  })

  it('fails a page that is not well-formed', () => {
    expect(xhtmlErrors(xhtmlPage('<p>unclosed <b>bold</p>'))).toMatch(/mismatch|error/i)
    expect(xhtmlErrors(xhtmlPage('<p>a bare & ampersand</p>'))).toMatch(/error/i)
  })

  it('fails a well-formed page that the DTD does not allow', () => {
    expect(xhtmlErrors(xhtmlPage('<p>an image without alt: <img src="x.png" /></p>'))).toMatch(/alt/)
    expect(xhtmlErrors(xhtmlPage('<p id="twice">a</p><p id="twice">b</p>'))).toMatch(/twice/)
    expect(xhtmlErrors(xhtmlPage('<p><div>a block inside a paragraph</div></p>'))).toMatch(/div/)
    expect(xhtmlErrors(xhtmlPage('<blink>no such element</blink>'))).toMatch(/blink/)
  })

  it('fails a page with another DOCTYPE or none', () => {
    expect(xhtmlErrors('<!DOCTYPE html>\n<html><head><title>x</title></head><body></body></html>')).toMatch(/DOCTYPE/)
    expect(xhtmlErrors(xhtmlPage('').replace('Transitional', 'Strict'))).toMatch(/DOCTYPE/)
  })
})

describe('the ES3 check', () => {
  it('passes the kind of script the original had', () => {
    const page = xhtmlPage('<form action="x" onsubmit="return check(this);"><p><input type="text" onfocus=\'this.value = &quot;&quot;\' /></p></form>',
      script('var cWindow;\nwindow.onload = function(){ try { cWindow = window.frames["x"]; } catch(e) {} };'))
    expect(pageScripts(page).map((s) => s.kind)).toEqual(['script', 'onsubmit', 'onfocus'])
    expect(pageScripts(page)[2]?.code).toBe('this.value = ""')
    expect(es3Problems(page)).toEqual([])
  })

  it('fails a page with const in an inline script', () => {
    const problems = es3Problems(xhtmlPage('<p>x</p>', script('const cWindow = window.frames["chatContents"];')))
    expect(problems).toHaveLength(1)
    expect(problems[0]?.problems[0]).toMatch(/^not ES3: Unexpected token/)
  })

  it('fails an event attribute with newer syntax', () => {
    const problems = es3Problems(xhtmlPage('<form action="x" onsubmit="let ok = true; return ok"><p></p></form>'))
    expect(problems.map((p) => p.kind)).toEqual(['onsubmit'])
  })

  it.each([
    ['let', 'let a = 1'],
    ['arrow functions', 'var f = function(){}; setTimeout(() => f(), 1)'],
    ['template literals', 'var s = `hi ${name}`'],
    ['a trailing comma in an object literal (IE)', 'var o = { a: 1, }'],
    ['a keyword as a property name (IE)', 'o.class = "x"'],
    ['getters', 'var o = { get x() { return 1 } }']
  ])('fails %s', (_name, code) => {
    expect(es3ProblemsIn(code)).toEqual([expect.stringMatching(/^not ES3: /)])
  })

  it('fails JSON, querySelector and addEventListener without attachEvent, which old browsers lack', () => {
    expect(es3ProblemsIn('var data = JSON.parse(text)')).toEqual(['uses JSON (IE 7 and older have none)'])
    expect(es3ProblemsIn('document.querySelector("#x")')).toEqual(['uses querySelector (IE 7 and older)'])
    expect(es3ProblemsIn('window.addEventListener("load", init, false)'))
      .toEqual(['uses addEventListener without an attachEvent fallback (IE 8 and older)'])
    expect(es3ProblemsIn('if (window.addEventListener) window.addEventListener("load", init, false); else window.attachEvent("onload", init)'))
      .toEqual([])
  })
})
