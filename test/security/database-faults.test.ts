import type { FastifyInstance } from 'fastify'
import mysql, { type RowDataPacket } from 'mysql2/promise'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildApp } from '../../src/app.js'
import { buildTestApp, createTestDatabase, Person, testConfig } from '../helpers/app.js'
import { createPrivateMariaDb, type PrivateMariaDb } from '../helpers/private-mariadb.js'

describe('the database restarts (MEMORY tables empty, AUTO_INCREMENT back at 1)', () => {
  let database: PrivateMariaDb
  let app: FastifyInstance

  beforeAll(async () => {
    database = await createPrivateMariaDb()
    app = await buildTestApp(database.url, { FLOOD_BURST_COUNT: '1000', FLOOD_SUSTAINED_COUNT: '1000' })
  })
  afterAll(async () => {
    await app?.close()
    await database?.destroy()
  })

  /** How large the messages table may grow (a private server: no information_schema race with other tests). */
  async function messageTableBytes (): Promise<number> {
    const connection = await mysql.createConnection(database.url)
    try {
      const [rows] = await connection.query<RowDataPacket[]>("SHOW TABLE STATUS LIKE 'jenChat_Messages'")
      return Number(rows[0]?.Max_data_length)
    } finally {
      await connection.end()
    }
  }

  /** The size limit the messages table had when the restarted server opened it (see initSql below). */
  async function bytesAtRestart (): Promise<number> {
    const connection = await mysql.createConnection(database.url)
    try {
      const [rows] = await connection.query<RowDataPacket[]>('SELECT bytes FROM restart_probe.sizes')
      expect(rows).toHaveLength(1)
      return Number(rows[0]?.bytes)
    } finally {
      await connection.end()
    }
  }

  it('sends participants to the login page with a message, then delivers exactly once again', async () => {
    const alice = new Person(app, 'alice')
    const bob = new Person(app, 'bob')
    await alice.join()
    await bob.join()
    for (let i = 0; i < 10; i++) await alice.say(`before ${i}`)
    expect(await bob.poll()).toHaveLength(10)
    // Created by the app with DB_MEMORY_TABLE_MB (64 by default), not the server's 16 MB.
    expect(await messageTableBytes()).toBeGreaterThan(32 * 1024 * 1024)

    // The app runs on as in production: its room's own timers notice the restart. The server
    // opens the empty table itself as it starts, before any client can, with its defaults (as
    // after a restart with an --init-file, or whenever another client gets there first), and
    // notes how large it may grow then.
    await database.stop()
    await database.start({
      initSql: [
        'SELECT COUNT(*) FROM jenchat.jenChat_Messages;',
        'CREATE DATABASE IF NOT EXISTS restart_probe;',
        'CREATE TABLE IF NOT EXISTS restart_probe.sizes (bytes BIGINT UNSIGNED) ENGINE=InnoDB;',
        "INSERT INTO restart_probe.sizes SELECT MAX_DATA_LENGTH FROM information_schema.TABLES WHERE TABLE_SCHEMA = 'jenchat' AND TABLE_NAME = 'jenChat_Messages';"
      ]
    })
    expect(await bytesAtRestart()).toBeLessThan(32 * 1024 * 1024)

    // Within a few polls each window is sent to the login page (its session died with the tables).
    // Polls in between are answered from memory or, while the database is away, retried later.
    const leaving = async (person: Person): Promise<string> => {
      for (let i = 0; i < 50; i++) {
        const response = await person.request('GET', person.cursorUrl)
        if (response.statusCode === 403) return response.body
        expect([200, 503]).toContain(response.statusCode)
        expect(response.body).toContain('setTimeout(')
        await new Promise((resolve) => setTimeout(resolve, 100))
      }
      throw new Error(`${person.handle} was never sent to the login page`)
    }
    expect(await leaving(alice)).toContain('top.location.replace("./login.php?reason=expired")')
    expect(await leaving(bob)).toContain('top.location.replace("./login.php?reason=expired")')
    // The app gives its MEMORY tables their size back.
    await expect.poll(messageTableBytes, { timeout: 5000 }).toBeGreaterThan(32 * 1024 * 1024)
    const page = await alice.request('GET', '/login.php?reason=expired')
    expect(page.body).toContain('<p class="notice">Your chat session has ended')

    // Back in: the new ids start at 1 again, below every old cursor; nothing is skipped or repeated.
    await alice.join()
    await bob.join()
    for (let i = 0; i < 3; i++) await alice.say(`after ${i}`)
    await bob.say('bob after')
    expect((await bob.poll()).map((m) => m.text)).toEqual(['after 0', 'after 1', 'after 2', 'bob after'])
    expect((await alice.poll()).map((m) => m.text)).toEqual(['after 0', 'after 1', 'after 2', 'bob after'])
    expect(await bob.poll()).toEqual([])
    await alice.say('one more')
    expect((await bob.poll()).map((m) => m.text)).toEqual(['one more'])
  })
})

describe('a MEMORY table is full (max_heap_table_size)', () => {
  it('refuses posts with a clear notice and recovers by garbage collection', async () => {
    const database = await createTestDatabase()
    // The size of the MEMORY tables comes from DB_MEMORY_TABLE_MB: 1 MB holds under a thousand messages.
    const app = await buildTestApp(database.url, {
      DB_MEMORY_TABLE_MB: '1', FLOOD_BURST_COUNT: '10000', FLOOD_SUSTAINED_COUNT: '10000'
    })
    try {
      const alice = new Person(app, 'alice')
      await alice.join()
      let location = 'post.php'
      let sent = 0
      while (location === 'post.php' && sent < 3000) {
        location = (await alice.say(`message ${sent}`)).headers.location as string
        sent++
      }
      expect(location).toBe('post.php?notice=full')
      const frame = await alice.request('GET', location)
      expect(frame.body).toContain('The chat is full right now')
      // Half a minute later garbage collection frees the rows and posting works again.
      await database.query('UPDATE jenChat_Messages SET Posted = NOW(3) - INTERVAL 31 SECOND')
      expect((await alice.say('room again')).headers.location).toBe('post.php')
    } finally {
      await app.close()
      await database.drop()
    }
  })
})

describe('the participants table is full (max_heap_table_size)', () => {
  it('refuses a login with a clear error and no session, and lets people in again once rows are free', async () => {
    const database = await createTestDatabase()
    const app = await buildTestApp(database.url, { DB_MEMORY_TABLE_MB: '1' })
    try {
      // People in the room (they polled just now, so nothing may collect them) fill the 1 MB table.
      await database.query("INSERT INTO jenChat_Users (UserName, LastUpdate) VALUES ('filler0', NOW(3))")
      let full = false
      for (let round = 0; round < 30 && !full; round++) {
        try {
          await database.query("INSERT INTO jenChat_Users (UserName, LastUpdate) SELECT CONCAT('filler', UserID + 1000000), NOW(3) FROM jenChat_Users")
        } catch (error) {
          expect((error as { code?: string }).code).toBe('ER_RECORD_FILE_FULL')
          full = true
        }
      }
      expect(full).toBe(true)

      const login = await app.inject({
        method: 'POST', url: '/login.php', payload: 'who=newcomer', headers: { 'content-type': 'application/x-www-form-urlencoded' }
      })
      expect(login.statusCode).toBe(503)
      expect(login.headers['retry-after']).toBe('30')
      expect(login.body).toContain('<p class="error">The chat room is full right now. Please try again in half a minute.</p>')
      expect(login.body).toContain('value="newcomer"')
      expect(login.cookies.filter((cookie) => cookie.value !== '')).toEqual([])
      expect(await database.query("SELECT UserID FROM jenChat_Users WHERE UserName = 'newcomer'")).toEqual([])
      expect(await database.query('SELECT SessionID FROM jenChat_Sessions')).toEqual([])

      // Half a minute later most of them have left: the login collects them itself and gets in.
      await database.query("UPDATE jenChat_Users SET LastUpdate = NOW(3) - INTERVAL 31 SECOND WHERE UserName LIKE 'filler1%'")
      const newcomer = new Person(app, 'newcomer')
      await newcomer.join()
    } finally {
      await app.close()
      await database.drop()
    }
  })
})

describe('the pool\'s wait queue is full (DB_QUEUE_LIMIT)', () => {
  it('refuses the posts that found it full with the "could not be sent" notice, and the next post goes through at once', async () => {
    const database = await createTestDatabase()
    const lines: string[] = []
    // Two connections and four waiting queries: enough for the room's own work and one post at a
    // time (a post with its garbage collection runs up to four queries at once), not for 24 at once.
    const app = await buildApp(testConfig(database.url, {
      LOG_LEVEL: 'warn', DB_CONNECTIONS: '2', DB_QUEUE_LIMIT: '4', FLOOD_BURST_COUNT: '10000', FLOOD_SUSTAINED_COUNT: '10000'
    }), { logger: { level: 'warn', stream: { write: (line: string) => { lines.push(line) } } } })
    try {
      const people = Array.from({ length: 24 }, (_, i) => new Person(app, `p${i}`))
      for (const person of people) await person.join()
      const answers = await Promise.all(people.map(async (person, i) => (await person.say(`at once ${i}`)).headers.location))
      const failed = answers.filter((location) => location === 'post.php?notice=failed').length
      const sent = answers.filter((location) => location === 'post.php').length
      expect(failed).toBeGreaterThan(0)
      expect(failed + sent).toBe(people.length)
      expect(lines.join('')).toContain('cannot store a message: too many queries waiting for the database')
      const notice = await (people[0] as Person).request('GET', 'post.php?notice=failed')
      expect(notice.body).toContain('parent.showNotice("Your message could not be sent: the chat server is having trouble. Please send it again in a moment.")')
      // Stored: exactly the posts that were not refused.
      const stored = await database.query<Array<{ n: number }>>("SELECT COUNT(*) AS n FROM jenChat_Messages WHERE Message LIKE 'at once %'")
      expect(Number(stored[0]?.n)).toBe(sent)
      // A busy moment is not an outage: the next post is not refused for a second, it is stored.
      expect((await (people[0] as Person).say('right after')).headers.location).toBe('post.php')
    } finally {
      await app.close()
      await database.drop()
    }
  })
})

describe('a database user without the ALTER privilege', () => {
  it('still runs the chat on tables made earlier, and says why they keep their size', async () => {
    const database = await createTestDatabase()
    const user = 'jenchat_noalter_' + Math.random().toString(36).slice(2, 8)
    try {
      await (await buildTestApp(database.url)).close()
      const name = new URL(database.url).pathname.slice(1)
      await database.query(`CREATE USER '${user}'@'%' IDENTIFIED BY 'pw'`)
      await database.query(`GRANT SELECT, INSERT, UPDATE, DELETE, CREATE ON \`${name}\`.* TO '${user}'@'%'`)
      const url = new URL(database.url)
      url.username = user
      url.password = 'pw'

      const lines: string[] = []
      const app = await buildApp(testConfig(url.toString(), { LOG_LEVEL: 'warn' }), {
        logger: { level: 'warn', stream: { write: (line: string) => { lines.push(line) } } }
      })
      try {
        const alice = new Person(app, 'alice')
        await alice.join()
        expect((await alice.say('hello')).headers.location).toBe('post.php')
        expect((await alice.poll()).map((m) => m.text)).toEqual(['hello'])
        expect(lines.join('')).toContain('cannot resize the MEMORY tables (no ALTER privilege)')
      } finally {
        await app.close()
      }
    } finally {
      await database.query(`DROP USER IF EXISTS '${user}'@'%'`)
      await database.drop()
    }
  })
})
