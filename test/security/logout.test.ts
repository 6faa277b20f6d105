import { describe, expect, it } from 'vitest'
import type { FastifyInstance } from 'fastify'
import { buildTestApp, Person, useFreshApp } from '../helpers/app.js'

// Issue 10, points 8 and 9: a page elsewhere can't log anyone out (the Logout link carries the
// session's token, anything else asks first), and the cookie is really cleared, __Host- included.

const t = useFreshApp()

async function participants (): Promise<string[]> {
  const rows = await t.database.query<Array<{ UserName: string }>>('SELECT UserName FROM jenChat_Users ORDER BY UserName')
  return rows.map((row) => row.UserName)
}

async function sessionCount (): Promise<number> {
  const [row] = await t.database.query<Array<{ n: number }>>('SELECT COUNT(*) AS n FROM jenChat_Sessions')
  return Number(row?.n)
}

describe('logout without the session token (a link or image on another site)', () => {
  it.each([
    ['no token', '/login.php?logout=true'],
    ['a wrong token', '/login.php?logout=true&token=wrong'],
    ['an empty token', '/login.php?logout=true&token='],
    ['a repeated token', '/login.php?logout=true&token=a&token=b']
  ])('with %s ends nothing and asks for confirmation with a one-button form', async (_name, url) => {
    const alice = new Person(t.app, 'alice')
    await alice.join()
    const response = await alice.request('GET', url)
    expect(response.statusCode).toBe(200)
    expect(response.headers['set-cookie']).toBeUndefined()
    expect(response.body).toContain('<p>You are in the chat as <strong>alice</strong>. Do you want to leave the chat room?</p>')
    expect(response.body).toContain(`<form method="post" action="./login.php?logout=true">
<p>
<input type="hidden" name="token" value="${alice.token}" />
<input type="submit" value="Logout" class="submit" />
</p>
</form>`)
    expect(response.body.match(/<input type="submit"/g)).toHaveLength(1)
    expect(await participants()).toEqual(['alice'])
    expect(await sessionCount()).toBe(1)
    expect((await alice.request('GET', '/chat.php')).statusCode).toBe(200)
  })

  it("with another participant's token ends nothing", async () => {
    const alice = new Person(t.app, 'alice')
    const mallory = new Person(t.app, 'mallory')
    await alice.join()
    await mallory.join()
    expect((await alice.request('GET', `/login.php?logout=true&token=${mallory.token}`)).statusCode).toBe(200)
    expect(await participants()).toEqual(['alice', 'mallory'])
  })

  it('the confirmation form ends the session, keeping the reason', async () => {
    const alice = new Person(t.app, 'alice')
    await alice.join()
    const page = await alice.request('GET', '/login.php?logout=true&reason=expired')
    expect(page.body).toContain('<form method="post" action="./login.php?logout=true&amp;reason=expired">')
    const confirmed = await alice.request('POST', '/login.php?logout=true&reason=expired', { token: alice.token })
    expect(confirmed.statusCode).toBe(302)
    expect(confirmed.headers.location).toBe('./login.php?reason=expired')
    expect(await participants()).toEqual([])
    expect(await sessionCount()).toBe(0)
    // A confirmation without the token asks again.
    const bob = new Person(t.app, 'bob')
    await bob.join()
    expect((await bob.request('POST', '/login.php?logout=true', { token: 'nope' })).statusCode).toBe(200)
    expect(await participants()).toEqual(['bob'])
  })

  it('the Logout link of the chat page carries the token and ends the session at once', async () => {
    const alice = new Person(t.app, 'alice')
    await alice.join()
    const chat = await alice.request('GET', '/chat.php')
    const link = /<a href="([^"]+)"[^>]*>Logout<\/a>/.exec(chat.body)?.[1]?.replace(/&amp;/g, '&')
    expect(link).toBe(`login.php?logout=true&token=${alice.token}`)
    const response = await alice.request('GET', '/' + (link as string))
    expect(response.statusCode).toBe(302)
    expect(await participants()).toEqual([])
  })

  it('LOGOUT_NEEDS_TOKEN=false restores the original: a bare link, and any logout ends the session', async () => {
    const app = await buildTestApp(t.database.url, { LOGOUT_NEEDS_TOKEN: 'false' })
    try {
      const alice = new Person(app, 'alice')
      await alice.join()
      expect((await alice.request('GET', '/chat.php')).body).toContain('<a href="login.php?logout=true">Logout</a>')
      const response = await alice.request('GET', '/login.php?logout=true')
      expect(response.statusCode).toBe(302)
      expect(await participants()).toEqual([])
    } finally {
      await app.close()
    }
  })
})

describe('the cleared session cookie', () => {
  const PLAIN = 'jenchat=; Max-Age=0; Path=/; Expires=Thu, 01 Jan 1970 00:00:00 GMT; HttpOnly; SameSite=Lax'
  const SECURE = '__Host-jenchat=; Max-Age=0; Path=/; Expires=Thu, 01 Jan 1970 00:00:00 GMT; HttpOnly; Secure; SameSite=Lax'

  /** Logs in over (proxied) HTTPS when `secure`, returning the cookie and the chat token. */
  async function logIn (app: FastifyInstance, secure: boolean): Promise<{ cookie: string, token: string, userId: number }> {
    const headers = secure ? { 'x-forwarded-proto': 'https' } : {}
    const login = await app.inject({
      method: 'POST', url: '/login.php', payload: 'who=alice',
      headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers }
    })
    const set = login.cookies[0] as { name: string, value: string }
    const cookie = `${set.name}=${set.value}`
    const chat = await app.inject({ url: '/chat.php', headers: { cookie, ...headers } })
    const token = /name="token" value="([^"]+)"/.exec(chat.body)?.[1] as string
    const [row] = await t.database.query<Array<{ UserID: number }>>("SELECT UserID FROM jenChat_Users WHERE UserName = 'alice'")
    return { cookie, token, userId: (row as { UserID: number }).UserID }
  }

  describe.each([
    ['plain HTTP', {}, PLAIN],
    ['COOKIE_SECURE=true (HTTPS behind a proxy)', { COOKIE_SECURE: 'true', TRUST_PROXY: 'true' }, SECURE]
  ])('with %s', (_name, env: Record<string, string>, cleared) => {
    const secure = env.COOKIE_SECURE === 'true'
    const headers = secure ? { 'x-forwarded-proto': 'https' } : {}

    it('is cleared at logout with every attribute it was set with', async () => {
      const app = await buildTestApp(t.database.url, env)
      try {
        const { cookie, token } = await logIn(app, secure)
        const response = await app.inject({ url: `/login.php?logout=true&token=${token}`, headers: { cookie, ...headers } })
        expect(response.statusCode).toBe(302)
        expect(response.headers['set-cookie']).toBe(cleared)
      } finally {
        await app.close()
      }
    })

    it('is cleared when the thread frame finds the session ended', async () => {
      const app = await buildTestApp(t.database.url, env)
      try {
        const { cookie, userId } = await logIn(app, secure)
        app.jenchat.room.markGone(userId)
        const response = await app.inject({ url: '/thread.php', headers: { cookie, ...headers } })
        expect(response.statusCode).toBe(403)
        expect(response.headers['set-cookie']).toBe(cleared)
      } finally {
        await app.close()
      }
    })
  })
})
