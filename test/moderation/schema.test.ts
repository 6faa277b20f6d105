import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { EXIT, runCli } from '../../src/moderation-cli.js'
import { buildTestApp, createTestDatabase } from '../helpers/app.js'
import { createPrivateMariaDb, type PrivateMariaDb } from '../helpers/private-mariadb.js'

async function login (app: Awaited<ReturnType<typeof buildTestApp>>, who: string) {
  return await app.inject({
    method: 'POST', url: '/login.php', remoteAddress: '10.1.2.3',
    headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: `who=${who}`
  })
}

describe('a database made by the PHP original', () => {
  it("gets the participants' Joined and Address columns, keeping its rows, and who shows them", async () => {
    const legacy = await createTestDatabase()
    try {
      await legacy.query(`CREATE TABLE jenChat_Users (UserID int(10) unsigned NOT NULL auto_increment,
        UserName varchar(20) NOT NULL default '', LastUpdate timestamp NOT NULL, PRIMARY KEY (UserID)) ENGINE=MEMORY`)
      await legacy.query("INSERT INTO jenChat_Users (UserName, LastUpdate) VALUES ('old', NOW())")
      const app = await buildTestApp(legacy.url)
      await app.close()
      // Twice, as several processes starting at once would: the second finds the columns there.
      await (await buildTestApp(legacy.url)).close()
      const columns = await legacy.query<Array<{ Field: string, Type: string }>>('SHOW COLUMNS FROM jenChat_Users')
      expect(columns.map((c) => [c.Field, c.Type])).toEqual([
        ['UserID', 'int(10) unsigned'], ['UserName', 'varchar(20)'], ['LastUpdate', 'timestamp'],
        ['Joined', 'timestamp(3)'], ['Address', 'varchar(45)']
      ])
      const out: string[] = []
      expect(await runCli(['who'], { DATABASE_URL: legacy.url }, { log: (l) => out.push(l), error: (l) => out.push(l) })).toBe(EXIT.ok)
      expect(out.join('\n')).toMatch(/\nold\s+\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\s+0 min\s+-$/)
    } finally {
      await legacy.drop()
    }
  })
})

describe('bans and a database restart', () => {
  let database: PrivateMariaDb
  beforeAll(async () => { database = await createPrivateMariaDb() }, 60_000)
  afterAll(async () => { await database?.destroy() })

  it('outlive it (InnoDB), while the MEMORY tables come back empty', async () => {
    let app = await buildTestApp(database.url)
    expect((await login(app, 'present')).statusCode).toBe(302)
    const io = { log: () => undefined, error: (line: string) => { throw new Error(line) } }
    expect(await runCli(['ban', 'troll', 'forever', 'trolling'], { DATABASE_URL: database.url }, io)).toBe(EXIT.ok)
    expect(await runCli(['ban', '10.9.9.9', '60'], { DATABASE_URL: database.url }, io)).toBe(EXIT.ok)
    await app.close()

    await database.stop()
    await database.start()

    app = await buildTestApp(database.url)
    try {
      const out: string[] = []
      expect(await runCli(['who'], { DATABASE_URL: database.url }, { log: (l) => out.push(l), error: io.error })).toBe(EXIT.ok)
      expect(out).toEqual(['nobody is here'])
      const refused = await login(app, 'troll')
      expect(refused.statusCode).toBe(403)
      expect(refused.body).toContain('You may not join the chat until a moderator lifts the ban: trolling')
      const bans: string[] = []
      await runCli(['bans'], { DATABASE_URL: database.url }, { log: (l) => bans.push(l), error: io.error })
      expect(bans.join('\n')).toMatch(/\ntroll\s+never\s+trolling\n10\.9\.9\.9\s+(59 min|1 h)$/)
    } finally {
      await app.close()
    }
  })
})
