import { setTimeout as sleep } from 'node:timers/promises'
import { describe, expect, it } from 'vitest'
import { applySchema } from '../../src/db/schema.js'
import { clientNetwork, createLoginLimit } from '../../src/login-limit.js'
import { buildTestApp, createTestDatabase, Person, useFreshApp } from '../helpers/app.js'

// Issue 10, point 3: logins must not fill jenChat_Sessions. A session ends with its participant,
// logins per address are limited, and a full table is reported clearly.

const t = useFreshApp()

const FORM = { 'content-type': 'application/x-www-form-urlencoded' }

async function sessionOwners (): Promise<string[]> {
  const rows = await t.database.query<Array<{ UserName: string | null }>>(
    'SELECT u.UserName FROM jenChat_Sessions s LEFT JOIN jenChat_Users u ON u.UserID = s.UserID ORDER BY u.UserName')
  return rows.map((row) => row.UserName ?? '(nobody)')
}

async function loginFrom (address: string, who: string) {
  return await t.app.inject({ method: 'POST', url: '/login.php', remoteAddress: address, headers: FORM, payload: `who=${who}` })
}

describe('a session ends with its participant', () => {
  it('is stored with its participant', async () => {
    const alice = new Person(t.app, 'alice')
    await alice.join()
    expect(await sessionOwners()).toEqual(['alice'])
  })

  it('at the idle collection that a post runs', async () => {
    const alice = new Person(t.app, 'alice')
    const bob = new Person(t.app, 'bob')
    await alice.join()
    await bob.join()
    // The process's first collection (which also looks for sessions without a participant) is behind it.
    await bob.say('first')
    await t.database.query("UPDATE jenChat_Users SET LastUpdate = NOW(3) - INTERVAL 31 SECOND WHERE UserName = 'alice'")
    await sleep(t.app.jenchat.config.timings.gcIntervalMs)
    await bob.say('collects alice')
    expect(await sessionOwners()).toEqual(['bob'])
  })

  it('when someone else takes over the handle its owner left', async () => {
    const alice = new Person(t.app, 'alice')
    await alice.join()
    await t.database.query("UPDATE jenChat_Users SET LastUpdate = NOW(3) - INTERVAL 6 SECOND WHERE UserName = 'alice'")
    const newcomer = new Person(t.app, 'alice')
    await newcomer.join()
    expect(await sessionOwners()).toEqual(['alice'])
    const [row] = await t.database.query<Array<{ SessionID: string }>>('SELECT SessionID FROM jenChat_Sessions')
    expect(newcomer.cookie).toContain(`=${(row as { SessionID: string }).SessionID}.`)
  })

  it('at logout, and a session whose participant is gone goes with the first collection of a process', async () => {
    const alice = new Person(t.app, 'alice')
    const bob = new Person(t.app, 'bob')
    await alice.join()
    await bob.join()
    await alice.logout()
    expect(await sessionOwners()).toEqual(['bob'])
    // Left behind by whatever (an earlier version, a process that died half-way through a login).
    await t.database.query("INSERT INTO jenChat_Sessions (SessionID, Expires, Data, UserID) VALUES ('orphan', UNIX_TIMESTAMP() + 3600, '{}', 999999)")
    await bob.say('collects')
    expect(await sessionOwners()).toEqual(['bob'])
  })
})

describe('the schema', () => {
  it('gives an earlier jenChat_Sessions its UserID column, keeping the sessions of people in the room', async () => {
    const database = await createTestDatabase()
    try {
      await database.query(`CREATE TABLE jenChat_Sessions (
        SessionID varchar(64) CHARACTER SET ascii NOT NULL, Expires int unsigned NOT NULL,
        Data varchar(768) CHARACTER SET ascii NOT NULL, PRIMARY KEY (SessionID),
        KEY jenChat_Sessions_Expires (Expires) USING BTREE) ENGINE=MEMORY`)
      await database.query(`INSERT INTO jenChat_Sessions VALUES
        ('kept', UNIX_TIMESTAMP() + 3600, '{"userId":7,"handle":"alice","token":"t","joinCursor":0}'),
        ('empty', UNIX_TIMESTAMP() + 3600, '{"cookie":{}}')`)
      // Twice, as two processes starting one after the other would.
      for (let i = 0; i < 2; i++) {
        const app = await buildTestApp(database.url)
        await app.close()
      }
      const rows = await database.query<Array<{ SessionID: string, UserID: number }>>('SELECT SessionID, UserID FROM jenChat_Sessions ORDER BY SessionID')
      expect(rows).toEqual([{ SessionID: 'empty', UserID: 0 }, { SessionID: 'kept', UserID: 7 }])
      const indexes = await database.query<Array<{ Key_name: string }>>("SHOW INDEX FROM jenChat_Sessions WHERE Column_name = 'UserID'")
      expect(indexes.map((index) => index.Key_name)).toEqual(['jenChat_Sessions_UserID'])
    } finally {
      await database.drop()
    }
  })

  it('is idempotent on a current database', async () => {
    await applySchema(t.app.jenchat.db, { warn: () => undefined })
    await applySchema(t.app.jenchat.db, { warn: () => undefined })
    const columns = await t.database.query<Array<{ Field: string }>>('SHOW COLUMNS FROM jenChat_Sessions')
    expect(columns.map((column) => column.Field)).toEqual(['SessionID', 'Expires', 'Data', 'UserID'])
  })
})

describe('logins per client address', () => {
  it('let a classroom of 60 behind one NAT address join within a minute (the defaults)', async () => {
    for (let i = 0; i < 60; i++) expect((await loginFrom('203.0.113.9', `pupil${i}`)).statusCode).toBe(302)
    const [row] = await t.database.query<Array<{ n: number }>>('SELECT COUNT(*) AS n FROM jenChat_Sessions')
    expect(Number(row?.n)).toBe(60)
  })

  it('stop a script that creates participants: a clear 429 page, no participant, no query', async () => {
    const app = await buildTestApp(t.database.url, { LOGIN_LIMIT: '3', LOGIN_LIMIT_WINDOW_MS: '60000' })
    try {
      const login = async (address: string, who: string) =>
        await app.inject({ method: 'POST', url: '/login.php', remoteAddress: address, headers: FORM, payload: `who=${who}` })
      expect((await login('198.51.100.7', 'script0')).statusCode).toBe(302)
      // A refused login (taken handle) doesn't use up the allowance.
      expect((await login('198.51.100.7', 'script0')).statusCode).toBe(409)
      for (let i = 1; i < 3; i++) expect((await login('198.51.100.7', `script${i}`)).statusCode).toBe(302)
      const statementsBefore = app.jenchat.db.statementsSent
      const refused = await login('198.51.100.7', 'script3')
      expect(app.jenchat.db.statementsSent).toBe(statementsBefore)
      expect(refused.statusCode).toBe(429)
      expect(Number(refused.headers['retry-after'])).toBeGreaterThanOrEqual(1)
      expect(Number(refused.headers['retry-after'])).toBeLessThanOrEqual(60)
      expect(refused.body).toContain('<p class="error">Too many people have joined from your address just now. Please wait a minute and try again.</p>')
      expect(refused.body).toContain('value="script3"')
      expect(Buffer.byteLength(refused.body)).toBeGreaterThanOrEqual(512)
      const users = await t.database.query<Array<{ UserName: string }>>('SELECT UserName FROM jenChat_Users ORDER BY UserName')
      expect(users.map((u) => u.UserName)).toEqual(['script0', 'script1', 'script2'])
      // Another address, and another IPv6 /64, are not affected; the same /64 is.
      expect((await login('198.51.100.8', 'other')).statusCode).toBe(302)
      for (let i = 0; i < 3; i++) expect((await login(`2001:db8:1:2::${i + 1}`, `six${i}`)).statusCode).toBe(302)
      expect((await login('2001:db8:1:2:ffff::1', 'six3')).statusCode).toBe(429)
      expect((await login('2001:db8:1:3::1', 'six4')).statusCode).toBe(302)
    } finally {
      await app.close()
    }
  })

  it('can be switched off (LOGIN_LIMIT=0, the original)', async () => {
    const app = await buildTestApp(t.database.url, { LOGIN_LIMIT: '0' })
    try {
      for (let i = 0; i < 5; i++) {
        const response = await app.inject({ method: 'POST', url: '/login.php', headers: FORM, payload: `who=free${i}` })
        expect(response.statusCode).toBe(302)
      }
    } finally {
      await app.close()
    }
  })

  it('count networks: IPv4 as is, IPv6 by /64, anything else cut short', () => {
    expect(clientNetwork('192.0.2.1')).toBe('192.0.2.1')
    expect(clientNetwork('::ffff:192.0.2.1')).toBe('192.0.2.1')
    expect(clientNetwork('2001:DB8::1')).toBe('2001:db8:0:0::/64')
    expect(clientNetwork('2001:db8:0:0:1:2:3:4')).toBe('2001:db8:0:0::/64')
    expect(clientNetwork('2001:db8:a:b::ffff:1.2.3.4')).toBe('2001:db8:a:b::/64')
    expect(clientNetwork('::1')).toBe('0:0:0:0::/64')
    expect(clientNetwork('fe80::1%eth0')).toBe('fe80:0:0:0::/64')
    expect(clientNetwork('x'.repeat(10_000))).toBe('other:' + 'x'.repeat(64))
  })

  it('remember a bounded number of networks, the least recent going first', () => {
    const limit = createLoginLimit({ limit: 1, windowMs: 60_000, networks: 100 })
    expect(limit.take('192.0.2.1')).toBe(true)
    expect(limit.take('192.0.2.1')).toBe(false)
    for (let i = 0; i < 100; i++) limit.take(`198.51.100.${i}`)
    // Pushed out by a hundred others: the cache never holds more than 100.
    expect(limit.take('192.0.2.1')).toBe(true)
  })
})

describe('a full jenChat_Sessions', () => {
  const fullApp = async () => await buildTestApp(t.database.url, { DB_MEMORY_TABLE_MB: '1' })

  /** Fills the sessions table (1 MB since the app started) with sessions of participant `ownerId`. */
  async function fillSessions (ownerId: number): Promise<void> {
    for (let batch = 0; ; batch++) {
      const rows = Array.from({ length: 100 }, (_, i) => `('fill-${batch}-${i}', UNIX_TIMESTAMP() + 3600, '{}', ${ownerId})`)
      try {
        await t.database.query(`INSERT INTO jenChat_Sessions (SessionID, Expires, Data, UserID) VALUES ${rows.join(',')}`)
      } catch (error) {
        if ((error as { code?: string }).code === 'ER_RECORD_FILE_FULL') return
        throw error
      }
      if (batch > 100) throw new Error('the table never filled up')
    }
  }

  it('refuses a login with a clear 503 page and leaves no participant behind', async () => {
    const app = await fullApp()
    try {
      const owner = new Person(app, 'owner')
      await owner.join()
      const [row] = await t.database.query<Array<{ UserID: number }>>("SELECT UserID FROM jenChat_Users WHERE UserName = 'owner'")
      await fillSessions((row as { UserID: number }).UserID)
      const response = await app.inject({ method: 'POST', url: '/login.php', headers: FORM, payload: 'who=late' })
      expect(response.statusCode).toBe(503)
      expect(response.headers['retry-after']).toBe('30')
      expect(response.body).toContain('<p class="error">The chat room is full right now. Please try again in half a minute.</p>')
      expect(Buffer.byteLength(response.body)).toBeGreaterThanOrEqual(512)
      const users = await t.database.query<Array<{ UserName: string }>>('SELECT UserName FROM jenChat_Users')
      expect(users.map((u) => u.UserName)).toEqual(['owner'])
    } finally {
      await app.close()
    }
  })

  it('makes room by collecting the sessions of people who left, and lets the login in', async () => {
    const app = await fullApp()
    try {
      // The process's first collection (which looks for such sessions anyway) is behind it.
      const early = new Person(app, 'early')
      await early.join()
      await early.say('collects')
      await early.logout()
      await fillSessions(999_999)
      const response = await app.inject({ method: 'POST', url: '/login.php', headers: FORM, payload: 'who=late' })
      expect(response.statusCode).toBe(302)
      expect(await sessionOwners()).toEqual(['late'])
    } finally {
      await app.close()
    }
  })
})
