import { mkdir, writeFile } from 'node:fs/promises'
import { describe, expect, it, vi } from 'vitest'
import { ENGINES, type Tab, type TestBrowser } from '../helpers/browsers.js'
import {
  arrivedAt, holdFirstRequest, join, logIn, MESSAGE_VALUE, openPerson, recordTimes, say, startChat, submittedAt,
  transcript, useBrowser, waitForLine, waitForPolls, type HeldRequest
} from '../helpers/chat-in-browser.js'

// Real browsers on a real server: slower than the inject tests, so longer limits for this file only.
vi.setConfig({ testTimeout: 60_000, hookTimeout: 60_000 })

const SCREENSHOT = new URL('../../docs/screenshot.png', import.meta.url)
/** The README's picture is a tracked file: it is made only on request (`npm run screenshots`), never by `npm test`. */
const MAKE_SCREENSHOT = process.env.SCREENSHOTS === '1'
/** Each person's window in the picture: the chat page and a little room around it. */
const WINDOW = { width: 440, height: 390 }
/** Where a scenario waits for messages to arrive, polls twice a second (the contract's: once). */
const FAST_POLLS = { POLL_INTERVAL_MS: '500' }

describe.each(ENGINES)('the chat in %s', (engine) => {
  const b = useBrowser(engine)

  it('two people log in through the form and chat both ways; each message shows up once, within two poll intervals', async () => {
    const server = await startChat()
    const alice = await openPerson(b.browser, WINDOW)
    const bob = await openPerson(b.browser, WINDOW)
    await join(alice, server, 'alice')
    await join(bob, server, 'bob')

    const conversation: Array<[Tab, string, string]> = [
      [alice, 'alice', 'Hi Bob! Is this the chat from the 2003 tutorial?'],
      [bob, 'bob', 'Same pages, same frames, same tables. Now on Node.'],
      [alice, 'alice', 'And messages no longer get lost or shuffled?'],
      [bob, 'bob', 'Each one exactly once, in order. Even "quotes" & <b>tags</b>.'],
      [alice, 'alice', 'Nice :-)']
    ]
    await recordTimes(alice)
    await recordTimes(bob)
    const lines: string[] = []
    for (const [from, name, text] of conversation) {
      const other = from === alice ? bob : alice
      await say(from, text, { button: true })
      // Tags are stripped on the way in, as PHP's strip_tags did; the rest arrives as typed.
      const line = `${name}: ${text.replace(/<\/?b>/g, '')}`
      await waitForLine(other, line)
      // From pressing Send to the line in the other window, by the browsers' own clock.
      expect(await arrivedAt(other, line) - await submittedAt(from)).toBeLessThan(2 * server.pollIntervalMs)
      lines.push(line)
    }
    await waitForLine(alice, lines.at(-1) as string)
    // A duplicate would come with a later poll: give both windows two more.
    await Promise.all([waitForPolls(alice, 2), waitForPolls(bob, 2)])
    expect(await transcript(alice)).toEqual(lines)
    expect(await transcript(bob)).toEqual(lines)

    if (engine === 'chromium' && MAKE_SCREENSHOT) {
      await saveSideBySide(b.browser, [
        { caption: 'alice’s window', png: await alice.screenshot() },
        { caption: 'bob’s window', png: await bob.screenshot() }
      ])
    }
  })

  it('a newcomer whose page is still loading while messages arrive, and whose first poll comes late, receives everything', async () => {
    let firstPoll: HeldRequest | undefined
    let contentsPage: HeldRequest | undefined
    const server = await startChat({
      env: FAST_POLLS,
      configure: (app) => {
        firstPoll = holdFirstRequest(app, 'carol', '/thread.php')
        contentsPage = holdFirstRequest(app, 'carol', '/contents.html')
      }
    })
    const alice = await openPerson(b.browser)
    const bob = await openPerson(b.browser)
    const carol = await openPerson(b.browser)
    await join(alice, server, 'alice')
    await join(bob, server, 'bob')

    // Carol's chat page is there, but its first poll and its message area are held back.
    expect(await logIn(carol, server, 'carol', { waitForLoad: false })).toBe('joined')
    await firstPoll?.arrived
    await contentsPage?.arrived
    const busy = ['alice: welcome, carol', 'bob: hi carol', 'alice: we were just talking about frames']
    await say(alice, 'welcome, carol')
    await say(bob, 'hi carol')
    await say(alice, 'we were just talking about frames')
    await waitForLine(bob, busy.at(-1) as string)

    // Her first poll now answers those messages while her page hasn't loaded (onload not run,
    // contents.html not there): the original's newcomer never received anything after this.
    firstPoll?.release()
    const pageState = await carol.waitFor<string>(`(function () {
      var poll = window.frames['thread'].document
      return poll.readyState === 'complete' && poll.getElementById('contents') ? document.readyState : ''
    })()`, { what: "carol's first poll to hand over its messages" })
    expect(pageState).not.toBe('complete')
    contentsPage?.release()
    await carol.waitFor("document.readyState === 'complete'")
    await waitForLine(carol, busy.at(-1) as string)

    const later: Array<[Tab, string]> = [[alice, 'alice'], [bob, 'bob'], [alice, 'alice']]
    const lines = [...busy]
    for (const [i, [from, name]] of later.entries()) {
      await say(from, `later message ${i + 1}`)
      lines.push(`${name}: later message ${i + 1}`)
      await waitForLine(carol, lines.at(-1) as string)
    }
    await say(carol, 'thanks, I can read everything')
    lines.push('carol: thanks, I can read everything')
    await waitForLine(alice, lines.at(-1) as string)
    await waitForLine(carol, lines.at(-1) as string)
    expect(await transcript(carol)).toEqual(lines)
  })

  it('when handing messages to the chat page fails, the thread frame polls the old cursor again: nothing is lost', async () => {
    const server = await startChat({ env: FAST_POLLS })
    const alice = await openPerson(b.browser)
    const bob = await openPerson(b.browser)
    await join(alice, server, 'alice')
    await join(bob, server, 'bob')
    // Bob's chat page throws the first two times the thread frame hands it messages.
    await bob.evaluate(`(function () {
      var real = window.insertMessages
      window.jenchatFailures = 0
      window.insertMessages = function (html) {
        if (window.jenchatFailures < 2) { window.jenchatFailures++; throw new Error('not now') }
        real(html)
      }
    })()`)
    await say(alice, 'first')
    await say(alice, 'second')
    await waitForLine(bob, 'alice: second')
    expect(await bob.evaluate<number>('window.jenchatFailures')).toBe(2)
    await say(alice, 'third')
    await waitForLine(bob, 'alice: third')
    // A duplicate would come with a later poll: give the window two more.
    await waitForPolls(bob, 2)
    expect(await transcript(bob)).toEqual(['alice: first', 'alice: second', 'alice: third'])
  })

  it('never reloads the chat page while polling and posting: only the worker frames navigate', async () => {
    const server = await startChat({ env: FAST_POLLS })
    const alice = await openPerson(b.browser)
    const bob = await openPerson(b.browser)
    await join(alice, server, 'alice')
    await join(bob, server, 'bob')
    const marker = "window.jenchatMarker === 'set once, after login'"
    await alice.evaluate("window.jenchatMarker = 'set once, after login'")
    await bob.evaluate("window.jenchatMarker = 'set once, after login'")
    const since = alice.navigations.length

    for (let i = 1; i <= 3; i++) {
      await say(alice, `ping ${i}`)
      await waitForLine(bob, `alice: ping ${i}`)
      await say(bob, `pong ${i}`)
      await waitForLine(alice, `bob: pong ${i}`)
    }
    await waitForPolls(alice, 3)

    expect(await alice.evaluate(marker)).toBe(true)
    expect(await bob.evaluate(marker)).toBe(true)
    const navigations = alice.navigations.slice(since)
    expect(navigations.filter((n) => n.top)).toEqual([])
    const paths = navigations.map((n) => new URL(n.url).pathname)
    expect(paths.filter((p) => p === '/thread.php').length).toBeGreaterThanOrEqual(3)
    expect(paths.filter((p) => p === '/post.php').length).toBeGreaterThanOrEqual(3)
    // Besides polls and posts only the blank page of each fresh post frame.
    expect(paths.filter((p) => p !== '/thread.php' && p !== '/post.php' && p !== 'blank')).toEqual([])
    expect(alice.url()).toBe(`${server.baseUrl}/chat.php`)
  })

  it('empties and focuses the box after each message; after 40 messages both windows are scrolled to the bottom', async () => {
    const server = await startChat({ env: { FLOOD_BURST_COUNT: '100', FLOOD_SUSTAINED_COUNT: '100' } })
    const alice = await openPerson(b.browser)
    const bob = await openPerson(b.browser)
    await join(alice, server, 'alice')
    await join(bob, server, 'bob')

    const lines: string[] = []
    for (let i = 1; i <= 40; i++) {
      // After the first message she just types on: the box has the focus again.
      await say(alice, `message number ${i}`, { typeIntoFocus: i > 1 })
      expect(await alice.evaluate(`${MESSAGE_VALUE} === '' && document.activeElement === document.getElementById('message')`)).toBe(true)
      lines.push(`alice: message number ${i}`)
    }
    for (const tab of [alice, bob]) {
      await waitForLine(tab, 'alice: message number 40')
      expect(await transcript(tab)).toEqual(lines)
      const scroll = await tab.evaluate<{ top: number, view: number, height: number }>(`(function () {
        var root = document.documentElement, body = document.body
        return {
          top: window.pageYOffset || root.scrollTop || body.scrollTop,
          view: window.innerHeight,
          height: Math.max(root.scrollHeight, body.scrollHeight)
        }
      })()`, 'chatContents')
      expect(scroll.height).toBeGreaterThan(scroll.view)
      expect(scroll.top + scroll.view).toBeGreaterThanOrEqual(scroll.height - 1)
    }
  })

  it('adds no history entries when posting: Back leaves the chat for the previous page', async () => {
    const server = await startChat()
    const alice = await openPerson(b.browser)
    await join(alice, server, 'alice')
    const entries = await alice.evaluate<number>('history.length')

    // With Enter and with the Send button: both submit the form into the post frame.
    for (let i = 1; i <= 5; i++) await say(alice, `post ${i}`, { button: i % 2 === 0 })
    await waitForLine(alice, 'alice: post 5')
    expect(await alice.evaluate('history.length')).toBe(entries)

    await alice.evaluate('history.back()')
    await alice.waitFor("location.pathname === '/login.php' && !!document.getElementById('who')", { what: 'Back to reach the login page' })
    expect(alice.url()).toBe(`${server.baseUrl}/login.php`)
  })
})

/** Puts the people's windows side by side, each with its name above it, into docs/screenshot.png. */
async function saveSideBySide (browser: TestBrowser, windows: Array<{ caption: string, png: Buffer }>): Promise<void> {
  const gap = 16
  const caption = 28
  const figures = windows.map((w) => `<figure><figcaption>${w.caption}</figcaption>` +
    `<img src="data:image/png;base64,${w.png.toString('base64')}" width="${WINDOW.width}" height="${WINDOW.height}" alt=""></figure>`)
  const page = `<!DOCTYPE html><html><head><meta charset="utf-8"><style>
    html, body { margin: 0; background: #dfe3e8; }
    body { display: flex; gap: ${gap}px; padding: ${gap}px; }
    figure { margin: 0; border: 1px solid #9aa3ad; border-radius: 6px; overflow: hidden; background: #fff;
      box-shadow: 0 1px 4px rgba(0, 0, 0, 0.18); }
    figcaption { height: ${caption}px; padding: 0 10px; background: #f3f4f6; border-bottom: 1px solid #c9ced4;
      font: 13px/${caption}px sans-serif; color: #333; }
    img { display: block; }
  </style></head><body>${figures.join('')}</body></html>`
  const tab = await browser.newPerson({
    width: windows.length * (WINDOW.width + 2) + (windows.length + 1) * gap,
    height: WINDOW.height + caption + 1 + 2 + 2 * gap
  })
  try {
    await tab.goto('data:text/html;base64,' + Buffer.from(page).toString('base64'))
    await mkdir(new URL('.', SCREENSHOT), { recursive: true })
    await writeFile(SCREENSHOT, await tab.screenshot())
  } finally {
    await tab.close()
  }
}
