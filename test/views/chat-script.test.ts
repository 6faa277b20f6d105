import { runInNewContext } from 'node:vm'
import { describe, expect, it } from 'vitest'
import { CHAT_SCRIPT } from '../../views/chat.js'

/** Just enough DOM for the chat page's script: elements that collect children and text. */
class FakeElement {
  children: FakeElement[] = []
  innerHTML = ''
  className = ''
  text = ''
  value = 'typed'
  focused = false
  constructor (readonly tag: string) {}
  appendChild (child: FakeElement): void { this.children.push(child) }
  focus (): void { this.focused = true }
}

function chatPageWithLoadingFrame () {
  const contentsDocument = {
    ready: false,
    body: { scrollHeight: 500 },
    documentElement: { scrollHeight: 600 },
    contents: new FakeElement('div'),
    getElementById (id: string) { return id === 'contents' && this.ready ? this.contents : null },
    createElement: (tag: string) => new FakeElement(tag),
    createTextNode: (text: string) => Object.assign(new FakeElement('#text'), { text })
  }
  const scrolls: number[] = []
  const contentsWindow = { document: contentsDocument, scrollTo: (_x: number, y: number) => scrolls.push(y) }
  const form: { onsubmit?: () => boolean } = {}
  const message = Object.assign(new FakeElement('input'), { form })
  const postFrame = new FakeElement('span')
  const iframe = { contentWindow: contentsWindow }
  const window: Record<string, unknown> = { frames: { chatContents: contentsWindow } }
  const elements: Record<string, unknown> = { chatContents: iframe, message, postFrame }
  const document = { getElementById: (id: string) => elements[id] ?? null }
  window.window = window
  window.document = document
  runInNewContext(CHAT_SCRIPT, window)
  return { window, contentsDocument, scrolls, message, form, postFrame }
}

describe('the chat page script', () => {
  it('keeps messages that arrive before onload and before contents.html has loaded (defect 6)', () => {
    const page = chatPageWithLoadingFrame()
    const insert = page.window.insertMessages as (html: string) => void
    expect(() => insert('<div>first</div>')).not.toThrow()
    expect(() => insert('<div>second</div>')).not.toThrow()
    expect(page.contentsDocument.contents.children).toHaveLength(0)

    page.contentsDocument.ready = true
    ;(page.window.onload as () => void)()
    expect(page.contentsDocument.contents.children.map((c) => c.innerHTML)).toEqual(['<div>first</div>', '<div>second</div>'])
    insert('<div>third</div>')
    expect(page.contentsDocument.contents.children.map((c) => c.innerHTML)).toEqual(['<div>first</div>', '<div>second</div>', '<div>third</div>'])
    expect(page.scrolls.at(-1)).toBe(600)
  })

  it('delivers messages that arrive after contents.html loaded but before onload', () => {
    const page = chatPageWithLoadingFrame()
    page.contentsDocument.ready = true
    ;(page.window.insertMessages as (html: string) => void)('<div>early</div>')
    expect(page.contentsDocument.contents.children.map((c) => c.innerHTML)).toEqual(['<div>early</div>'])
    ;(page.window.onload as () => void)()
    expect(page.contentsDocument.contents.children).toHaveLength(1)
  })

  it('shows notices as text, never as markup', () => {
    const page = chatPageWithLoadingFrame()
    page.contentsDocument.ready = true
    ;(page.window.showNotice as (text: string) => void)('<b>not bold</b>')
    const [notice] = page.contentsDocument.contents.children
    expect(notice?.className).toBe('notice')
    expect(notice?.innerHTML).toBe('')
    expect(notice?.children[0]?.text).toBe('<b>not bold</b>')
  })

  it('sends each message into a fresh post frame, so that posting adds no history entries', () => {
    const page = chatPageWithLoadingFrame()
    page.contentsDocument.ready = true
    ;(page.window.onload as () => void)()
    expect(page.form.onsubmit?.()).toBe(true)
    // No src: a frame that has loaded nothing is replaced by the form's navigation, not pushed.
    expect(page.postFrame.innerHTML).toBe('<iframe id="post" name="post" style="width: 0px; height: 0px; border: 0px;"></iframe>')
  })

  it('resetForm clears and focuses the message box', () => {
    const page = chatPageWithLoadingFrame()
    ;(page.window.resetForm as () => void)()
    expect(page.message.value).toBe('')
    expect(page.message.focused).toBe(true)
  })
})
