import { describe, expect, it } from 'vitest'
import { Person, buildTestApp, useFreshApp } from '../helpers/app.js'

const t = useFreshApp()

async function storedMessages (): Promise<string[]> {
  const rows = await t.database.query<Array<{ Message: string }>>('SELECT Message FROM jenChat_Messages ORDER BY MessageID')
  return rows.map((row) => row.Message)
}

async function noticeFor (person: Person, location: string | undefined): Promise<string> {
  expect(location).toMatch(/^post\.php\?notice=/)
  const frame = await person.request('GET', location as string)
  const match = /parent\.showNotice\("([^"]*)"\)/.exec(frame.body)
  return match === null ? '' : (match[1] as string)
}

describe('forged posts (CSRF)', () => {
  it('stores nothing without the token and tells the sender to reload', async () => {
    const alice = new Person(t.app, 'alice')
    await alice.join()
    const forms: Array<Record<string, string>> = [{ message: 'forged' }, { message: 'forged', token: 'wrong' }, { message: 'forged', token: '' }]
    for (const form of forms) {
      const response = await alice.request('POST', '/post.php', form)
      expect(response.statusCode).toBe(403)
      expect(response.body).toContain('parent.showNotice("This chat window is out of date and your message was not sent. Please reload the page.")')
    }
    expect(await storedMessages()).toEqual([])
  })

  it("refuses another participant's token", async () => {
    const alice = new Person(t.app, 'alice')
    const mallory = new Person(t.app, 'mallory')
    await alice.join()
    await mallory.join()
    const response = await alice.request('POST', '/post.php', { message: 'x', token: mallory.token })
    expect(response.statusCode).toBe(403)
    expect(await storedMessages()).toEqual([])
  })

  it('gives each session its own token, and a new one at each login', async () => {
    const alice = new Person(t.app, 'alice')
    await alice.join()
    const first = alice.token
    await alice.logout()
    await alice.join()
    expect(alice.token).not.toBe(first)
    expect(alice.token).toMatch(/^[A-Za-z0-9_-]{24}$/)
  })
})

describe('flood control, per participant', () => {
  it('allows a burst of 5 messages in 5 s, then refuses with a notice to the sender only', async () => {
    const alice = new Person(t.app, 'alice')
    const bob = new Person(t.app, 'bob')
    await alice.join()
    await bob.join()
    for (let i = 1; i <= 5; i++) expect((await alice.say(`m${i}`)).headers.location).toBe('post.php')
    const refused = await alice.say('m6')
    expect(await noticeFor(alice, refused.headers.location)).toBe('You are sending messages too fast. Wait a few seconds, then send again.')
    // Nobody else is affected.
    expect((await bob.say('bob is fine')).headers.location).toBe('post.php')
    expect(await storedMessages()).toEqual(['m1', 'm2', 'm3', 'm4', 'm5', 'bob is fine'])
    // The burst window passes.
    await t.database.query("UPDATE jenChat_Messages SET Posted = Posted - INTERVAL 6 SECOND WHERE UserName = 'alice'")
    expect((await alice.say('m7')).headers.location).toBe('post.php')
  })

  it('limits the sustained rate: 20 messages in 30 s', async () => {
    const alice = new Person(t.app, 'alice')
    await alice.join()
    for (let i = 1; i <= 20; i++) {
      expect((await alice.say(`s${i}`)).headers.location).toBe('post.php')
      // Move each message out of the burst window, but keep it in the sustained one.
      await t.database.query('UPDATE jenChat_Messages SET Posted = NOW(3) - INTERVAL 6 SECOND')
    }
    expect(await noticeFor(alice, (await alice.say('s21')).headers.location)).toContain('too fast')
  })

  it('refuses an immediate duplicate of the last message', async () => {
    const alice = new Person(t.app, 'alice')
    await alice.join()
    await alice.say('same')
    expect(await noticeFor(alice, (await alice.say('same')).headers.location)).toBe('You just sent that message.')
    await alice.say('other')
    expect((await alice.say('same')).headers.location).toBe('post.php')
  })

  it('is configurable', async () => {
    const strict = await buildTestApp(t.database.url, { FLOOD_BURST_COUNT: '1', FLOOD_BURST_WINDOW_MS: '10000' })
    try {
      const carol = new Person(strict, 'carol')
      await carol.join()
      expect((await carol.say('one')).headers.location).toBe('post.php')
      expect((await carol.say('two')).headers.location).toBe('post.php?notice=flood')
    } finally {
      await strict.close()
    }
  })
})

describe('messages that are not stored', () => {
  it.each([
    ['', 'Type a message before pressing Send.'],
    ['   \t ', 'Type a message before pressing Send.'],
    ['<b></b>', 'Type a message before pressing Send.'],
    ['x'.repeat(256), 'Messages may be at most 255 characters long.'],
    ['é'.repeat(300), 'Messages may be at most 255 characters long.']
  ])('%j gets a notice', async (message, notice) => {
    const alice = new Person(t.app, 'alice')
    await alice.join()
    const response = await alice.say(message)
    expect(response.statusCode).toBe(302)
    expect(await noticeFor(alice, response.headers.location)).toBe(notice.replace(/é/g, '\\u00e9'))
    expect(await storedMessages()).toEqual([])
  })

  it('stores 255 characters, counted as characters', async () => {
    const alice = new Person(t.app, 'alice')
    await alice.join()
    expect((await alice.say('😀'.repeat(255))).headers.location).toBe('post.php')
    expect(await storedMessages()).toEqual(['😀'.repeat(255)])
  })

  it('answers a post without a session with the login page for the whole window', async () => {
    const response = await t.app.inject({ method: 'POST', url: '/post.php', payload: 'message=hi', headers: { 'content-type': 'application/x-www-form-urlencoded' } })
    expect(response.statusCode).toBe(403)
    expect(response.body).toContain('top.location.replace(')
    expect(await storedMessages()).toEqual([])
  })
})

describe('refused logins are limited per address; successful ones never', () => {
  it('answers 429 after 20 refusals from one address, but still lets a valid handle in', async () => {
    const login = async (who: string, ip = '10.0.0.1') => await t.app.inject({
      method: 'POST', url: '/login.php', remoteAddress: ip, payload: `who=${who}`, headers: { 'content-type': 'application/x-www-form-urlencoded' }
    })
    for (let i = 0; i < 20; i++) expect((await login('bad handle')).statusCode).toBe(400)
    const blocked = await login('bad handle')
    expect(blocked.statusCode).toBe(429)
    expect(blocked.headers['retry-after']).toBe('60')
    expect(blocked.body).toContain('Too many refused attempts')
    // Another address is not affected.
    expect((await login('bad handle', '10.0.0.2')).statusCode).toBe(400)
    // A whole classroom behind the blocked address still joins.
    for (let i = 0; i < 30; i++) expect((await login(`pupil${i}`)).statusCode).toBe(302)
  })
})

describe('headers', () => {
  it('every page forbids framing by others and sniffing, and nothing forces HTTPS', async () => {
    const alice = new Person(t.app, 'alice')
    await alice.join()
    const responses = [
      await t.app.inject('/'),
      await t.app.inject('/login.php'),
      await t.app.inject('/contents.html'),
      await t.app.inject('/post.php'),
      await t.app.inject('/nope'),
      await alice.request('GET', '/chat.php'),
      await alice.request('GET', '/thread.php')
    ]
    for (const response of responses) {
      expect(response.headers['content-security-policy']).toBe("frame-ancestors 'self'")
      expect(response.headers['x-frame-options']).toBe('SAMEORIGIN')
      expect(response.headers['x-content-type-options']).toBe('nosniff')
      expect(response.headers['strict-transport-security']).toBeUndefined()
      expect(String(response.headers['content-security-policy'])).not.toContain('upgrade-insecure-requests')
    }
    for (const response of responses.slice(0, 6)) {
      expect(response.headers['referrer-policy']).toBe('same-origin')
    }
  })
})

describe('sessions', () => {
  it('have ids of 192 random bits', async () => {
    const ids = new Set<string>()
    for (let i = 0; i < 5; i++) {
      const person = new Person(t.app, `p${i}`)
      await person.join()
      const id = person.cookie.split('=')[1]?.split('.')[0] as string
      expect(id).toMatch(/^[A-Za-z0-9_-]{32}$/)
      ids.add(id)
    }
    expect(ids.size).toBe(5)
  })

  it('can not be guessed: an unknown id, even signed correctly, opens nothing', async () => {
    const alice = new Person(t.app, 'alice')
    await alice.join()
    const [id, signature] = (alice.cookie.split('=')[1] as string).split('.')
    const tampered = (id as string).slice(0, -1) + ((id as string).endsWith('A') ? 'B' : 'A')
    for (const cookie of [`jenchat=${tampered}.${signature}`, `jenchat=${tampered}`]) {
      const response = await t.app.inject({ url: '/chat.php', headers: { cookie } })
      expect(response.headers.location).toBe('./login.php')
    }
  })

  it('end in the store when the participant is collected for idleness', async () => {
    const alice = new Person(t.app, 'alice')
    const bob = new Person(t.app, 'bob')
    await alice.join()
    await bob.join()
    await t.database.query("UPDATE jenChat_Users SET LastUpdate = NOW(3) - INTERVAL 31 SECOND WHERE UserName = 'alice'")
    await bob.say('collect')
    await alice.poll()
    await t.app.jenchat.room.flushPresence()
    const response = await alice.request('GET', alice.cursorUrl)
    expect(response.statusCode).toBe(403)
    expect(await t.database.query('SELECT * FROM jenChat_Sessions')).toHaveLength(1)
  })

  it('have an absolute lifetime', async () => {
    const alice = new Person(t.app, 'alice')
    await alice.join()
    await t.database.query('UPDATE jenChat_Sessions SET Expires = UNIX_TIMESTAMP() - 1')
    // A fresh process (no cache) reads the row: expired sessions open nothing.
    const other = await buildTestApp(t.database.url)
    try {
      const response = await other.inject({ url: '/chat.php', headers: { cookie: alice.cookie } })
      expect(response.headers.location).toBe('./login.php')
    } finally {
      await other.close()
    }
  })

  it('end at their absolute lifetime in a process that has them cached, too', async () => {
    const alice = new Person(t.app, 'alice')
    await alice.join()
    // The session's lifetime ends in about two seconds (Expires is kept in whole seconds of the
    // database's clock); a second process reads it now and keeps it in its cache (60 s normally).
    await t.database.query('UPDATE jenChat_Sessions SET Expires = UNIX_TIMESTAMP() + 2')
    const other = await buildTestApp(t.database.url)
    try {
      alice.app = other
      expect((await alice.request('GET', '/chat.php')).statusCode).toBe(200)
      await alice.poll()
      await new Promise((resolve) => setTimeout(resolve, 2100))
      expect(await t.database.query('SELECT SessionID FROM jenChat_Sessions WHERE Expires > UNIX_TIMESTAMP()')).toEqual([])
      expect((await alice.request('GET', alice.cursorUrl)).statusCode).toBe(403)
      expect((await other.inject({ url: '/chat.php', headers: { cookie: alice.cookie } })).headers.location).toBe('./login.php')
    } finally {
      await other.close()
    }
  })
})
