import { describe, expect, it } from 'vitest'
import { Person, buildTestApp, useFreshApp } from '../helpers/app.js'

const t = useFreshApp()

async function login (who: string | undefined, headers: Record<string, string> = {}) {
  return await t.app.inject({
    method: 'POST',
    url: '/login.php',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    payload: who === undefined ? '' : new URLSearchParams({ who }).toString()
  })
}

const ERRORS = {
  taken: '<p class="error">A user with the same handle is currently in the chat room. Please try a different handle.</p>',
  invalid: '<p class="error">Handles may only contain letters, numbers, hyphens and dashes.</p>',
  empty: '<p class="error">You must enter a handle (screen name) to enter the chat room.</p>',
  tooLong: '<p class="error">Handles may be at most 20 characters long.</p>'
}

describe('handles', () => {
  it.each([
    ['', ERRORS.empty, 400],
    ['   ', ERRORS.empty, 400],
    ['bob smith', ERRORS.invalid, 400],
    ['<script>', ERRORS.invalid, 400],
    ['bøb', ERRORS.invalid, 400],
    ['a'.repeat(21), ERRORS.tooLong, 400]
  ])('refuses %j with a clear error and the form again', async (who, error, status) => {
    const response = await login(who)
    expect(response.statusCode).toBe(status)
    expect(response.body).toContain(error)
    expect(response.body).toContain('<form method="post" action="./login.php">')
    expect(response.cookies).toEqual([])
    expect(await t.database.query('SELECT * FROM jenChat_Users')).toEqual([])
  })

  it('refuses a missing field as empty', async () => {
    const response = await login(undefined)
    expect(response.statusCode).toBe(400)
    expect(response.body).toContain(ERRORS.empty)
  })

  it('echoes the handle back escaped in the field', async () => {
    const response = await login('"><b>x')
    expect(response.body).toContain('value="&quot;&gt;&lt;b&gt;x"')
    expect(response.body).not.toContain('<b>x')
  })

  it('accepts letters, digits, hyphens and underscores up to 20 characters', async () => {
    for (const who of ['Bob_the-2nd', 'a'.repeat(20), '_', '-']) {
      const response = await login(who)
      expect(response.statusCode, who).toBe(302)
    }
    const users = await t.database.query<Array<{ UserName: string }>>('SELECT UserName FROM jenChat_Users ORDER BY UserID')
    expect(users.map((u) => u.UserName)).toEqual(['Bob_the-2nd', 'a'.repeat(20), '_', '-'])
  })

  it('does not let two handles collide by truncation (defect 5)', async () => {
    expect((await login('a'.repeat(20))).statusCode).toBe(302)
    const response = await login('a'.repeat(20) + 'b')
    expect(response.statusCode).toBe(400)
    expect(response.body).toContain(ERRORS.tooLong)
  })

  it('refuses a handle whose owner is present, case-insensitively', async () => {
    expect((await login('alice')).statusCode).toBe(302)
    for (const who of ['alice', 'ALICE']) {
      const response = await login(who)
      expect(response.statusCode).toBe(409)
      expect(response.body).toContain(ERRORS.taken)
    }
  })

  it('frees the handle once its owner has not polled for 5 s', async () => {
    expect((await login('alice')).statusCode).toBe(302)
    await t.database.query('UPDATE jenChat_Users SET LastUpdate = NOW(3) - INTERVAL 5100000 MICROSECOND')
    expect((await login('alice')).statusCode).toBe(302)
    const users = await t.database.query<Array<{ UserName: string }>>('SELECT UserName FROM jenChat_Users')
    expect(users).toHaveLength(1)
  })

  it('frees the handle at logout', async () => {
    const alice = new Person(t.app, 'alice')
    await alice.join()
    await alice.logout()
    expect((await login('alice')).statusCode).toBe(302)
  })

  it('gives a handle to exactly one of many simultaneous claimants', async () => {
    const responses = await Promise.all(Array.from({ length: 10 }, async () => await login('race')))
    expect(responses.filter((r) => r.statusCode === 302)).toHaveLength(1)
    expect(responses.filter((r) => r.statusCode === 409)).toHaveLength(9)
  })
})

describe('sessions', () => {
  it('issues a new session id at login and removes the old one from the store', async () => {
    const person = new Person(t.app, 'first')
    await person.join()
    const oldCookie = person.cookie
    const [oldRow] = await t.database.query<Array<{ SessionID: string }>>('SELECT SessionID FROM jenChat_Sessions')
    const response = await person.request('POST', '/login.php', { who: 'second' })
    expect(response.statusCode).toBe(302)
    expect(person.cookie).not.toBe(oldCookie)
    const rows = await t.database.query<Array<{ SessionID: string }>>('SELECT SessionID FROM jenChat_Sessions')
    expect(rows).toHaveLength(1)
    expect(rows[0]?.SessionID).not.toBe(oldRow?.SessionID)
    // A second login in the same browser replaces the participant too.
    const users = await t.database.query<Array<{ UserName: string }>>('SELECT UserName FROM jenChat_Users')
    expect(users.map((u) => u.UserName)).toEqual(['second'])
    // The old cookie opens nothing.
    const replay = await t.app.inject({ url: '/chat.php', headers: { cookie: oldCookie } })
    expect(replay.headers.location).toBe('./login.php')
  })

  it('ignores a forged or garbled session cookie', async () => {
    for (const cookie of ['jenchat=abc', 'jenchat=abc.def', 'jenchat=%00%ff', 'jenchat=' + 'x'.repeat(4000)]) {
      const response = await t.app.inject({ url: '/chat.php', headers: { cookie } })
      expect(response.statusCode, cookie).toBe(302)
      expect(response.headers.location).toBe('./login.php')
    }
  })

  it('uses the __Host- prefix and Secure when cookies are secure (HTTPS behind a proxy)', async () => {
    const secureApp = await buildTestApp(t.database.url, { COOKIE_SECURE: 'true', TRUST_PROXY: 'true' })
    try {
      const response = await secureApp.inject({
        method: 'POST',
        url: '/login.php',
        headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-forwarded-proto': 'https' },
        payload: 'who=secure'
      })
      expect(response.statusCode).toBe(302)
      const cookie = response.cookies[0]
      expect(cookie?.name).toBe('__Host-jenchat')
      expect(cookie?.secure).toBe(true)
      expect(cookie?.path).toBe('/')
      expect(cookie?.domain).toBeUndefined()
    } finally {
      await secureApp.close()
    }
  })
})
