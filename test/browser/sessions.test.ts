import { describe, expect, it, vi } from 'vitest'
import { ENGINES, type Tab } from '../helpers/browsers.js'
import {
  join, logIn, MESSAGE_VALUE, notices, openPerson, pressSend, say, sleep, startChat, transcript, useBrowser, waitForLine,
  type ChatServer
} from '../helpers/chat-in-browser.js'

// Real browsers on a real server: slower than the inject tests, so longer limits for this file only.
vi.setConfig({ testTimeout: 60_000, hookTimeout: 60_000 })

const TAKEN = 'A user with the same handle is currently in the chat room. Please try a different handle.'
/** The contract's timings scaled down (poll 1 s, presence 5 s) so that leaving takes seconds. */
const SHORT_PRESENCE = { POLL_INTERVAL_MS: '500', PRESENCE_WINDOW_MS: '2000' }

async function showsLoginForm (tab: Tab, server: ChatServer): Promise<void> {
  await tab.waitFor("location.pathname === '/login.php' && document.readyState === 'complete' && !!document.getElementById('who')", {
    what: 'the login page'
  })
  expect(tab.url()).toBe(`${server.baseUrl}/login.php`)
}

describe.each(ENGINES)('people come and go in %s', (engine) => {
  const b = useBrowser(engine)

  it('a handle is refused while its owner is in the room; Logout ends the chat and frees it', async () => {
    const server = await startChat()
    const alice = await openPerson(b.browser)
    const impostor = await openPerson(b.browser)
    await join(alice, server, 'alice')

    expect(await logIn(impostor, server, 'alice')).toBe(TAKEN)
    // The refused handle is echoed back into the field.
    expect(await impostor.evaluate("document.getElementById('who').value")).toBe('alice')

    await alice.click('a[href^="login.php?logout=true&token="]')
    await showsLoginForm(alice, server)
    // The session has ended: the chat page leads back to the login page.
    await alice.goto(`${server.baseUrl}/chat.php`)
    await showsLoginForm(alice, server)

    expect(await logIn(impostor, server, 'alice')).toBe('joined')
    expect(await impostor.evaluate("document.getElementsByTagName('strong')[0].innerHTML")).toBe('alice')
    await say(impostor, 'it is mine now')
    await waitForLine(impostor, 'alice: it is mine now')
  })

  it('closing the window and coming back after twice the presence window lands on the login page; the handle is free', async () => {
    const server = await startChat({ env: SHORT_PRESENCE })
    const presenceMs = server.app.jenchat.config.timings.presenceWindowMs
    const alice = await openPerson(b.browser)
    const bob = await openPerson(b.browser)
    const carol = await openPerson(b.browser)
    await join(alice, server, 'alice')
    await join(bob, server, 'bob')
    expect(await logIn(carol, server, 'bob')).toBe(TAKEN)

    // Both close their windows; their browsers keep the session cookie.
    await alice.closeTab()
    await bob.closeTab()
    await sleep(2 * presenceMs)

    // Bob never came back: his handle is free for someone else.
    expect(await logIn(carol, server, 'bob')).toBe('joined')
    // Alice comes back to the chat page and is sent to log in again.
    const aliceAgain = await alice.reopen()
    await aliceAgain.goto(`${server.baseUrl}/chat.php`)
    await showsLoginForm(aliceAgain, server)
  })

  it('recovers by itself from a 5 s database outage: messages sent afterwards arrive, nobody reloads', async () => {
    const server = await startChat({ throughProxy: true })
    const proxy = server.proxy as NonNullable<ChatServer['proxy']>
    const alice = await openPerson(b.browser)
    const bob = await openPerson(b.browser)
    await join(alice, server, 'alice')
    await join(bob, server, 'bob')
    await say(alice, 'before the outage')
    await waitForLine(bob, 'alice: before the outage')
    for (const tab of [alice, bob]) await tab.evaluate("window.jenchatMarker = 'still the same page'")

    proxy.refuse()
    const outageEnds = Date.now() + 5000
    // A message sent now can't be stored: its sender is told, and the text stays in the box.
    await bob.fill('#message', 'sent during the outage')
    expect(await pressSend(bob)).toMatch(/^Your message could not be sent/)
    expect(await bob.evaluate(MESSAGE_VALUE)).toBe('sent during the outage')
    await sleep(outageEnds - Date.now())
    proxy.restore()

    // Alice sends as soon as the database is back, pressing Send again while it is refused.
    await alice.fill('#message', 'after the outage')
    let result = ''
    for (const deadline = Date.now() + 15_000; result !== 'sent' && Date.now() < deadline;) {
      result = await pressSend(alice)
      if (result !== 'sent') await sleep(250)
    }
    expect(result).toBe('sent')
    await waitForLine(bob, 'alice: after the outage')
    // Bob sends his refused message again, as it still is in his box.
    expect(await pressSend(bob)).toBe('sent')
    await waitForLine(alice, 'bob: sent during the outage')

    const lines = ['alice: before the outage', 'alice: after the outage', 'bob: sent during the outage']
    for (const tab of [alice, bob]) {
      await waitForLine(tab, 'bob: sent during the outage')
      expect(await transcript(tab)).toEqual(lines)
      expect(await tab.evaluate("window.jenchatMarker === 'still the same page'")).toBe(true)
      expect(tab.navigations.filter((n) => n.top).map((n) => new URL(n.url).pathname)).toEqual(['/login.php', '/chat.php'])
    }
    expect(await notices(bob)).toHaveLength(1)
  })
})
