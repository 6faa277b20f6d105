import { describe, expect, it, onTestFinished } from 'vitest'
import { buildTestApp, Person, parseMessages, useFreshApp } from '../helpers/app.js'

const NO_CACHE = {
  expires: 'Thu, 19 Nov 1981 08:52:00 GMT',
  'cache-control': 'no-store, no-cache, must-revalidate',
  pragma: 'no-cache'
}
/** The poll's: the same, with a shorter Expires of the same meaning (src/http.ts). */
const POLL_NO_CACHE = { ...NO_CACHE, expires: '0' }
const XHTML_DOCTYPE = '<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Transitional//EN" "http://www.w3.org/TR/xhtml1/DTD/xhtml1-transitional.dtd">'

const t = useFreshApp()

describe('GET /', () => {
  it('leads to the login page', async () => {
    const response = await t.app.inject('/')
    expect(response.statusCode).toBe(302)
    expect(response.headers.location).toBe('./login.php')
  })
})

describe('login.php', () => {
  it('GET shows the form of the original, never cached', async () => {
    const response = await t.app.inject('/login.php')
    expect(response.statusCode).toBe(200)
    expect(response.headers['content-type']).toBe('text/html; charset=utf-8')
    expect(response.headers).toMatchObject(NO_CACHE)
    expect(response.body.startsWith(XHTML_DOCTYPE)).toBe(true)
    expect(response.body).toContain('<form method="post" action="./login.php">')
    expect(response.body).toMatch(/<input type="text" id="who" name="who" maxlength="20" value="" \/>/)
    expect(response.body).toContain('value="Join Chat"')
    expect(response.body).not.toContain('class="error"')
  })

  it('POST with a free handle creates the participant and the session, then goes to chat.php', async () => {
    const response = await t.app.inject({ method: 'POST', url: '/login.php', payload: 'who=alice', headers: { 'content-type': 'application/x-www-form-urlencoded' } })
    expect(response.statusCode).toBe(302)
    expect(response.headers.location).toBe('./chat.php')
    expect(response.headers).toMatchObject(NO_CACHE)
    const cookie = response.cookies.find((c) => c.name === 'jenchat')
    expect(cookie).toBeDefined()
    expect(cookie?.httpOnly).toBe(true)
    expect(cookie?.sameSite).toBe('Lax')
    expect(cookie?.secure).toBeUndefined()
    expect(cookie?.path).toBe('/')
    const users = await t.database.query<Array<{ UserName: string }>>('SELECT UserName FROM jenChat_Users')
    expect(users.map((u) => u.UserName)).toEqual(['alice'])
    const sessions = await t.database.query<Array<{ SessionID: string }>>('SELECT SessionID FROM jenChat_Sessions')
    expect(sessions).toHaveLength(1)
    expect(cookie?.value.startsWith((sessions[0] as { SessionID: string }).SessionID + '.')).toBe(true)
  })

  it('?logout=true removes the participant, ends the session, expires the cookie and goes to login.php', async () => {
    const alice = new Person(t.app, 'alice')
    await alice.join()
    const cookie = alice.cookie
    const response = await alice.logout()
    expect(response.statusCode).toBe(302)
    expect(response.headers.location).toBe('./login.php')
    expect(response.headers['set-cookie']).toMatch(/^jenchat=; Max-Age=0; Path=\/; Expires=Thu, 01 Jan 1970/)
    expect(await t.database.query('SELECT * FROM jenChat_Users')).toEqual([])
    expect(await t.database.query('SELECT * FROM jenChat_Sessions')).toEqual([])
    // The ended session can't be replayed.
    const replay = await t.app.inject({ url: '/chat.php', headers: { cookie } })
    expect(replay.statusCode).toBe(302)
    expect(replay.headers.location).toBe('./login.php')
  })

  it('?logout=true without a session just goes to the login page', async () => {
    const response = await t.app.inject('/login.php?logout=true')
    expect(response.statusCode).toBe(302)
    expect(response.headers.location).toBe('./login.php')
  })
})

describe('chat.php', () => {
  it('without a session goes to the login page', async () => {
    const response = await t.app.inject('/chat.php')
    expect(response.statusCode).toBe(302)
    expect(response.headers.location).toBe('./login.php')
  })

  it('after more than 5 s without a poll goes to logout', async () => {
    const alice = new Person(t.app, 'alice')
    await alice.join()
    await t.database.query('UPDATE jenChat_Users SET LastUpdate = NOW(3) - INTERVAL 6 SECOND')
    const response = await alice.request('GET', '/chat.php')
    expect(response.statusCode).toBe(302)
    // With the session's token, so the logout ends the session without asking.
    expect(response.headers.location).toBe(`./login.php?logout=true&token=${alice.token}`)
    const logout = await alice.request('GET', (response.headers.location as string).slice(1))
    expect(logout.headers.location).toBe('./login.php')
    expect(await t.database.query('SELECT * FROM jenChat_Sessions')).toEqual([])
  })

  it('shows the page of the original: frames, form, script', async () => {
    const alice = new Person(t.app, 'alice')
    await alice.join()
    const response = await alice.request('GET', '/chat.php')
    expect(response.statusCode).toBe(200)
    expect(response.headers).toMatchObject(NO_CACHE)
    const body = response.body
    expect(body.startsWith(XHTML_DOCTYPE)).toBe(true)
    expect(body).toContain(`<a href="login.php?logout=true&amp;token=${alice.token}" onclick="var t=document.getElementById(&#39;thread&#39;);if(t&amp;&amp;t.parentNode)t.parentNode.removeChild(t);">Logout</a>`)
    expect(body).toContain('<iframe id="chatContents" name="chatContents" src="contents.html"></iframe>')
    expect(body).toContain('<form target="post" method="post" action="post.php">')
    expect(body).toContain('<input type="text" name="message" id="message" maxlength="255" />')
    expect(body).toContain('<input type="submit" value="Send" class="submit" />')
    expect(body).toContain('<iframe id="post" name="post" src="post.php"\n  style="width: 0px; height: 0px; border: 0px;"></iframe>')
    expect(body).toContain('<iframe id="thread" name="thread" src="thread.php"\n  style="width: 0px; height: 0px; border: 0px;"></iframe>')
    expect(body).toContain('window.onload = chat_init;')
    expect(body).toContain('window.frames["chatContents"]')
    expect(body).toContain('chatContents.contentWindow')
    expect(body).toContain('cWindow.contentDocument')
    expect(body).toContain('function insertMessages(content)')
    expect(body).toContain('function resetForm()')
    expect(body).toMatch(/<input type="hidden" name="token" value="[A-Za-z0-9_-]{24}" \/>/)
  })
})

describe('post.php', () => {
  it('GET is the tiny page that resets the form', async () => {
    const response = await t.app.inject('/post.php')
    expect(response.statusCode).toBe(200)
    expect(response.headers).toMatchObject(NO_CACHE)
    expect(response.body).toContain('<script type="text/javascript">if(parent.resetForm)parent.resetForm()</script>')
  })

  it('POST stores the message with tags stripped and redirects to post.php', async () => {
    const alice = new Person(t.app, 'alice')
    await alice.join()
    const response = await alice.say('hello <b>bold</b> &amp; "quoted" <script>x</script>world')
    expect(response.statusCode).toBe(302)
    expect(response.headers.location).toBe('post.php')
    expect(response.headers).toMatchObject(NO_CACHE)
    const rows = await t.database.query<Array<{ Message: string, UserName: string }>>('SELECT Message, UserName FROM jenChat_Messages')
    expect(rows).toEqual([{ Message: 'hello bold &amp; "quoted" xworld', UserName: 'alice' }])
  })

  it('POST collects messages older than 30 s and participants idle for 30 s', async () => {
    // GC_INTERVAL_MS=0: every post collects, as the original did (see the next test for the default).
    const app = await buildTestApp(t.database.url, { GC_INTERVAL_MS: '0' })
    onTestFinished(async () => { await app.close() })
    const alice = new Person(app, 'alice')
    const idle = new Person(app, 'idle')
    await alice.join()
    await idle.join()
    await alice.say('old')
    await t.database.query("UPDATE jenChat_Messages SET Posted = NOW(3) - INTERVAL 31 SECOND WHERE Message = 'old'")
    await t.database.query("UPDATE jenChat_Users SET LastUpdate = NOW(3) - INTERVAL 31 SECOND WHERE UserName = 'idle'")
    await alice.say('new')
    const messages = await t.database.query<Array<{ Message: string }>>('SELECT Message FROM jenChat_Messages')
    expect(messages.map((m) => m.Message)).toEqual(['new'])
    const users = await t.database.query<Array<{ UserName: string }>>('SELECT UserName FROM jenChat_Users')
    expect(users.map((u) => u.UserName)).toEqual(['alice'])
  })

  it('POST collects at most once per GC_INTERVAL_MS per process, and again after the interval', async () => {
    const app = await buildTestApp(t.database.url, { GC_INTERVAL_MS: '300' })
    onTestFinished(async () => { await app.close() })
    const alice = new Person(app, 'alice')
    await alice.join()
    await alice.say('first') // collects (nothing to collect yet)
    await t.database.query("UPDATE jenChat_Messages SET Posted = NOW(3) - INTERVAL 31 SECOND WHERE Message = 'first'")
    await alice.say('second') // within the interval: no collection
    const before = await t.database.query<Array<{ Message: string }>>('SELECT Message FROM jenChat_Messages ORDER BY MessageID')
    expect(before.map((m) => m.Message)).toEqual(['first', 'second'])
    await new Promise((resolve) => setTimeout(resolve, 350))
    await alice.say('third') // the interval has passed: collects
    const after = await t.database.query<Array<{ Message: string }>>('SELECT Message FROM jenChat_Messages ORDER BY MessageID')
    expect(after.map((m) => m.Message)).toEqual(['second', 'third'])
  })
})

describe('thread.php', () => {
  it('answers an empty poll with a page that reloads itself in 1 s, with the nocache headers', async () => {
    const alice = new Person(t.app, 'alice')
    await alice.join()
    const response = await alice.request('GET', '/thread.php')
    expect(response.statusCode).toBe(200)
    expect(response.headers).toMatchObject(POLL_NO_CACHE)
    expect(response.headers['set-cookie']).toBeUndefined()
    expect(response.body).toBe(XHTML_DOCTYPE +
      '<html xmlns="http://www.w3.org/1999/xhtml"><head><title></title></head><body>' +
      '<script type="text/javascript">setTimeout("location.reload()",1000)</script></body></html>')
  })

  it('returns the messages since the last poll, escaped, oldest first, in the original markup', async () => {
    const alice = new Person(t.app, 'alice')
    const bob = new Person(t.app, 'bob')
    await alice.join()
    await bob.join()
    await alice.say('1 < 2 & "three" \'four\'')
    await bob.say('second')
    const response = await alice.request('GET', '/thread.php')
    expect(response.body).toContain('<div id="contents"><div><strong>alice: </strong>1 &lt; 2 &amp; &quot;three&quot; &#39;four&#39;</div>' +
      '<div><strong>bob: </strong>second</div></div>')
    expect(response.body).toContain('parent.insertMessages(document.getElementById("contents").innerHTML)')
    expect(response.body).toMatch(/var u="thread\.php\?c=\d+";/)
    expect(response.body).toContain('setTimeout("location.replace(u)",1000)')
  })

  it('marks the participant as present', async () => {
    const alice = new Person(t.app, 'alice')
    await alice.join()
    await t.database.query('UPDATE jenChat_Users SET LastUpdate = NOW(3) - INTERVAL 20 SECOND')
    await alice.poll()
    await t.app.jenchat.room.flushPresence()
    const rows = await t.database.query<Array<{ idle: number }>>('SELECT TIMESTAMPDIFF(SECOND, LastUpdate, NOW(3)) AS idle FROM jenChat_Users')
    expect(Number(rows[0]?.idle)).toBeLessThan(2)
  })

  it('without a session sends the whole window to the login page', async () => {
    const response = await t.app.inject('/thread.php')
    expect(response.statusCode).toBe(403)
    expect(response.headers).toMatchObject(POLL_NO_CACHE)
    expect(response.body).toContain('top.location.replace("./login.php?reason=expired")')
  })

  it('does not write the session or send Set-Cookie on a poll', async () => {
    const alice = new Person(t.app, 'alice')
    await alice.join()
    const before = await t.database.query<Array<{ Data: string, Expires: number }>>('SELECT Data, Expires FROM jenChat_Sessions')
    for (let i = 0; i < 3; i++) {
      const response = await alice.request('GET', alice.cursorUrl)
      expect(response.headers['set-cookie']).toBeUndefined()
    }
    expect(await t.database.query('SELECT Data, Expires FROM jenChat_Sessions')).toEqual(before)
  })
})

describe('contents.html', () => {
  it('is the static page with the empty contents div', async () => {
    const response = await t.app.inject('/contents.html')
    expect(response.statusCode).toBe(200)
    expect(response.headers['content-type']).toBe('text/html; charset=utf-8')
    expect(response.body).toContain('<div id="contents"></div>')
  })
})

describe('a conversation', () => {
  it('reaches the other participant', async () => {
    const alice = new Person(t.app, 'alice')
    const bob = new Person(t.app, 'bob')
    await alice.join()
    await bob.join()
    await alice.say('hi bob')
    expect(await bob.poll()).toEqual([{ name: 'alice', text: 'hi bob' }])
    await bob.say('hi alice')
    expect(await alice.poll()).toEqual([{ name: 'alice', text: 'hi bob' }, { name: 'bob', text: 'hi alice' }])
    expect(await alice.poll()).toEqual([])
    expect(await bob.poll()).toEqual([{ name: 'bob', text: 'hi alice' }])
    expect(parseMessages('')).toEqual([])
  })
})
