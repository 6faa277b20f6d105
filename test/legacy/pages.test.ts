import type { FastifyInstance, LightMyRequestResponse } from 'fastify'
import { describe, expect, it } from 'vitest'
import { POST_NOTICES } from '../../src/routes/post.js'
import { Person, useAppBehindProxy, useFreshApp } from '../helpers/app.js'
import { es3Problems, pageScripts, xhtmlErrors } from '../helpers/legacy.js'

/*
 * Every page the server really serves, as a browser of 2003 would get it: XHTML 1.0 Transitional
 * that validates against the DTD, inline scripts and event attributes in ES3, the original's
 * frame-finding fallbacks, and PHP's no-cache headers on everything dynamic.
 */

const NO_CACHE = {
  expires: 'Thu, 19 Nov 1981 08:52:00 GMT',
  'cache-control': 'no-store, no-cache, must-revalidate',
  pragma: 'no-cache'
}
/** The poll's: the same, with a shorter Expires of the same meaning (src/http.ts). */
const POLL_NO_CACHE = { ...NO_CACHE, expires: '0' }

/** Tags to strip, markup characters to escape, quotes, non-ASCII, a control character XML forbids. */
const TRICKY_MESSAGE = '</script><b>"quoted"</b> & \'single\' 1 < 2 > 0 ]]> ünïcödé ☃ \u0001 <!-- c -->end'

interface Served {
  name: string
  status: number
  headers: LightMyRequestResponse['headers']
  body: string
}

const form = (fields: Record<string, string>) => ({
  headers: { 'content-type': 'application/x-www-form-urlencoded' },
  payload: new URLSearchParams(fields).toString()
})

/** Walks through the chat as two people do and keeps every answer, by name. */
async function servePages (app: FastifyInstance): Promise<Map<string, Served>> {
  const served = new Map<string, Served>()
  const keep = (name: string, response: LightMyRequestResponse): void => {
    served.set(name, { name, status: response.statusCode, headers: response.headers, body: response.body })
  }

  keep('login page', await app.inject('/login.php'))
  keep('login page after an ended session', await app.inject('/login.php?reason=expired'))
  keep('login error: empty handle', await app.inject({ method: 'POST', url: '/login.php', ...form({ who: '' }) }))
  keep('login error: invalid handle', await app.inject({ method: 'POST', url: '/login.php', ...form({ who: '<b>"x"</b> & \'y\'' }) }))
  keep('login error: handle too long', await app.inject({ method: 'POST', url: '/login.php', ...form({ who: 'x'.repeat(21) }) }))
  keep('login redirect', await app.inject({ method: 'POST', url: '/login.php', ...form({ who: 'carol' }) }))
  // An address that used up its logins (LOGIN_LIMIT) gets the form with its own error.
  for (let i = 0; i < app.jenchat.config.limits.logins; i++) app.jenchat.loginLimit.take('192.0.2.99')
  keep('login error: too many logins from one address', await app.inject({ method: 'POST', url: '/login.php', remoteAddress: '192.0.2.99', ...form({ who: 'dave' }) }))

  const alice = new Person(app, 'alice')
  const bob = new Person(app, 'bob')
  await alice.join()
  keep('login error: handle taken', await app.inject({ method: 'POST', url: '/login.php', ...form({ who: 'alice' }) }))
  keep('chat page', await alice.request('GET', '/chat.php'))
  keep('post frame', await alice.request('GET', '/post.php'))
  keep('poll without messages', await alice.request('GET', '/thread.php'))

  await bob.join()
  keep('post redirect', await bob.say(TRICKY_MESSAGE))
  keep('poll with messages', await alice.request('GET', '/thread.php'))
  for (const notice of [...Object.keys(POST_NOTICES), 'expired']) {
    keep(`post notice: ${notice}`, await bob.request('GET', `/post.php?notice=${notice}`))
  }
  keep('post refused: no token', await bob.request('POST', '/post.php', { message: 'hi' }))
  keep('post refused: no message', await bob.request('POST', '/post.php', { token: bob.token }))
  keep('post without a session', await app.inject({ method: 'POST', url: '/post.php', ...form({ message: 'hi' }) }))
  keep('poll without a session', await app.inject('/thread.php'))
  keep('contents.html', await app.inject('/contents.html'))
  keep('logout confirmation (no token)', await alice.request('GET', '/login.php?logout=true'))
  keep('logout', await alice.logout())
  return served
}

/** The pages with a body to check (redirects have none). */
function documents (served: Map<string, Served>): Served[] {
  return [...served.values()].filter((page) => page.status !== 302)
}

const t = useFreshApp()

describe('the pages the server serves', () => {
  it('are all there, as expected', async () => {
    const served = await servePages(t.app)
    const statuses = Object.fromEntries([...served.values()].map((page) => [page.name, page.status]))
    expect(statuses).toMatchObject({
      'login page': 200,
      'login error: empty handle': 400,
      'login error: handle taken': 409,
      'login error: too many logins from one address': 429,
      'login redirect': 302,
      'chat page': 200,
      'poll without messages': 200,
      'poll with messages': 200,
      'post redirect': 302,
      'post refused: no token': 403,
      'post without a session': 403,
      'poll without a session': 403,
      'contents.html': 200,
      'logout confirmation (no token)': 200,
      logout: 302
    })
    expect(served.get('poll with messages')?.body).toContain('<strong>bob: </strong>')
    expect(served.get('poll without messages')?.body).not.toContain('<strong>')
    for (const page of documents(served)) expect(page.headers['content-type'], page.name).toBe('text/html; charset=utf-8')
  })

  it('validate against the XHTML 1.0 Transitional DTD', async () => {
    const served = await servePages(t.app)
    const invalid = Object.fromEntries(documents(served)
      .map((page) => [page.name, xhtmlErrors(page.body)] as const)
      .filter(([, errors]) => errors !== ''))
    expect(invalid).toEqual({})
  })

  it('have only ES3 in their inline scripts and event attributes, and no API old browsers lack', async () => {
    const served = await servePages(t.app)
    const failing = Object.fromEntries(documents(served)
      .map((page) => [page.name, es3Problems(page.body)] as const)
      .filter(([, problems]) => problems.length > 0))
    expect(failing).toEqual({})
    // The check had something to look at: the chat page's script and every worker frame's.
    for (const name of ['chat page', 'poll with messages', 'poll without messages', 'post frame', 'post notice: flood', 'poll without a session']) {
      expect(pageScripts(served.get(name)?.body ?? '').length, name).toBeGreaterThan(0)
    }
  })

  it('keep the original frame-finding fallbacks and frame functions', async () => {
    const served = await servePages(t.app)
    const [chat] = pageScripts(served.get('chat page')?.body ?? '')
    const script = (chat?.code ?? '').replace(/\s+/g, ' ')
    // The window of the message frame: by name (IE5, Konqueror, Safari), then the element's
    // contentWindow (IE5.5+, Mozilla, Opera), then the element itself (Netscape 6.0).
    expect(script).toMatch(/if ?\(window\.frames && window\.frames\["chatContents"\]\) (\/\/[^\n]*? )?cWindow = window\.frames\["chatContents"\];/)
    expect(script).toMatch(/else if ?\(chatContents\.contentWindow\) (\/\/.*? )?cWindow = chatContents\.contentWindow;/)
    expect(script).toMatch(/else (\/\/.*? )?cWindow = chatContents;/)
    // Its document: .document (most), then .contentDocument (Netscape 6.0).
    expect(script).toMatch(/if ?\(cWindow\.document\) (\/\/.*? )?cDocument = cWindow\.document;/)
    expect(script).toMatch(/else (\/\/.*? )?cDocument = cWindow\.contentDocument;/)
    expect(script).toContain('window.onload = chat_init;')
    for (const name of ['chat_init', 'insertMessages', 'resetForm']) expect(script).toContain(`function ${name}(`)

    const poll = pageScripts(served.get('poll with messages')?.body ?? '')[0]?.code ?? ''
    expect(poll).toContain('parent.insertMessages(document.getElementById("contents").innerHTML)')
    expect(poll).toMatch(/setTimeout\("location\.replace\(u\)",1000\)/)
    expect(pageScripts(served.get('poll without messages')?.body ?? '')[0]?.code).toBe('setTimeout("location.reload()",1000)')
    expect(pageScripts(served.get('post frame')?.body ?? '')[0]?.code).toBe('if(parent.resetForm)parent.resetForm()')
  })

  it('send the no-cache headers of PHP sessions on every dynamic answer: login, chat, poll, post, logout', async () => {
    const served = await servePages(t.app)
    const dynamic = [...served.values()].filter((page) => page.name !== 'contents.html')
    expect(dynamic.length).toBeGreaterThan(20)
    const missing = dynamic
      .filter((page) => Object.entries(page.name.startsWith('poll') ? POLL_NO_CACHE : NO_CACHE).some(([name, value]) => page.headers[name] !== value))
      .map((page) => page.name)
    expect(missing).toEqual([])
  })
})

describe('the poll while the database is unreachable', () => {
  const t = useAppBehindProxy()

  it('answers a valid, ES3, uncached page that retries', async () => {
    t.proxy.refuse()
    try {
      // A session this process hasn't cached has to be read from the database, which is away.
      const cookie = `jenchat=${t.app.signCookie('a-session-this-process-has-not-seen-yet')}`
      const response = await t.app.inject({ url: '/thread.php', headers: { cookie } })
      expect(response.statusCode).toBe(503)
      expect(response.body).toContain('setTimeout("location.reload()",2000)')
      expect(xhtmlErrors(response.body)).toBe('')
      expect(es3Problems(response.body)).toEqual([])
      expect(response.headers).toMatchObject(POLL_NO_CACHE)
    } finally {
      t.proxy.restore()
    }
  })
})
