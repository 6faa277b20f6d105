import { spawnSync } from 'node:child_process'
import { afterEach, describe, expect, it } from 'vitest'
import { EXIT, runCli } from '../../src/moderation-cli.js'
import { Person, buildTestApp, createTestDatabase, decodeEntities, useFreshApp } from '../helpers/app.js'
import { es3Problems, xhtmlErrors } from '../helpers/legacy.js'

const t = useFreshApp()
// The tables useFreshApp doesn't empty: they are this file's.
afterEach(async () => {
  await t.database.query('DELETE FROM jenChat_Bans')
  await t.database.query('DELETE FROM jenChat_Kicks')
})

/** Runs the CLI's main function against the test database, as `npm run chat -- …` would. */
async function chat (...args: string[]): Promise<{ code: number, out: string, err: string }> {
  const out: string[] = []
  const err: string[] = []
  const code = await runCli(args, { DATABASE_URL: t.database.url }, { log: (line) => out.push(line), error: (line) => err.push(line) })
  return { code, out: out.join('\n'), err: err.join('\n') }
}

async function login (who: string, address = '127.0.0.1') {
  return await t.app.inject({
    method: 'POST',
    url: '/login.php',
    remoteAddress: address,
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    payload: new URLSearchParams({ who }).toString()
  })
}

/** The URL a poll sends the whole window to (leaveChat), or null when the poll is an ordinary one. */
function windowSentTo (body: string): string | null {
  const link = /<a href="([^"]+)" target="_top">/.exec(body)
  return link === null ? null : decodeEntities(link[1] as string).replace(/^\./, '')
}

/**
 * Polls until a poll ends the session (403 + leaveChat) and returns where the window goes. The app
 * notices a kick with its presence batch (once per poll interval): each round runs one at once.
 * A batch already in flight on the room's timer may hold the participant, so it takes a few rounds
 * at most; a bound keeps a broken kick from polling for ever.
 */
async function pollEnded (person: Person): Promise<string> {
  for (let round = 0; round < 50; round++) {
    const response = await person.request('GET', person.cursorUrl)
    if (response.statusCode === 403) {
      expect(xhtmlErrors(response.body)).toBe('')
      expect(es3Problems(response.body)).toEqual([])
      return windowSentTo(response.body) as string
    }
    expect(response.statusCode, response.body).toBe(200)
    const next = /var u="([^"]+)"/.exec(response.body)
    if (next !== null) person.cursorUrl = '/' + (next[1] as string)
    await person.app.jenchat.room.flushPresence()
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
  throw new Error(`${person.handle} was never sent away`)
}

/** What the app notices within one poll interval (its presence batch), done now. */
async function nextPresenceBatch (app = t.app): Promise<void> {
  await app.jenchat.room.flushPresence()
}

describe('who', () => {
  it('lists who is here with the time they came and their address', async () => {
    const alice = new Person(t.app, 'alice', '10.0.0.5')
    const bob = new Person(t.app, 'bob', '::ffff:192.0.2.7')
    await alice.join()
    await bob.join()
    const result = await chat('who')
    expect(result.code).toBe(EXIT.ok)
    const lines = result.out.split('\n')
    expect(lines[0]).toMatch(/^HANDLE\s+SINCE \(UTC\)\s+FOR\s+ADDRESS$/)
    const today = new Date().toISOString().slice(0, 10)
    expect(lines[1]).toMatch(new RegExp(`^alice\\s+${today} \\d\\d:\\d\\d:\\d\\d\\s+0 min\\s+10\\.0\\.0\\.5$`))
    expect(lines[2]).toMatch(new RegExp(`^bob\\s+${today} \\d\\d:\\d\\d:\\d\\d\\s+0 min\\s+192\\.0\\.2\\.7$`))
    expect(lines).toHaveLength(3)
  })

  it('leaves out who has stopped polling, and says when nobody is here', async () => {
    await new Person(t.app, 'alice').join()
    await t.database.query('UPDATE jenChat_Users SET LastUpdate = NOW(3) - INTERVAL 6 SECOND')
    expect(await chat('who')).toEqual({ code: EXIT.ok, out: 'nobody is here', err: '' })
  })
})

describe('kick', () => {
  it("ends the session: the next poll, on any process, takes the window to the login page with the reason", async () => {
    const other = await buildTestApp(t.database.url)
    try {
      const alice = new Person(other, 'alice')
      const bob = new Person(t.app, 'bob')
      await alice.join()
      await bob.join()
      await alice.poll()
      await bob.poll()

      const result = await chat('kick', 'ALICE', 'Please', 'stop <shouting> & spamming')
      expect(result).toEqual({ code: EXIT.ok, out: 'kicked ALICE', err: '' })
      expect(await t.database.query('SELECT UserName FROM jenChat_Users')).toEqual([{ UserName: 'bob' }])

      await nextPresenceBatch(other)
      const to = await pollEnded(alice)
      expect(to).toMatch(/^\/login\.php\?reason=kicked&why=Please%20stop%20%3Cshouting%3E%20%26%20spamming&sig=[\w-]{22}$/)
      expect(alice.cookie).toBe('')
      // The session is gone from the store, not only from this browser.
      expect(await t.database.query('SELECT * FROM jenChat_Sessions')).toHaveLength(1)

      const page = await t.app.inject({ url: to })
      expect(page.statusCode).toBe(200)
      expect(page.body).toContain('<p class="notice">A moderator removed you from the chat: Please stop &lt;shouting&gt; &amp; spamming</p>')
      expect(xhtmlErrors(page.body)).toBe('')

      // Bob chats on.
      expect(await bob.poll()).toEqual([])
      expect((await bob.say('still here')).statusCode).toBe(302)
    } finally {
      await other.close()
    }
  })

  it('a kicked participant who posts before their next poll is sent to the login page with the reason too', async () => {
    const alice = new Person(t.app, 'alice')
    await alice.join()
    await chat('kick', 'alice', 'no more')
    const response = await alice.say('one more thing')
    expect(response.statusCode).toBe(403)
    expect(xhtmlErrors(response.body)).toBe('')
    const to = windowSentTo(response.body) as string
    expect(to).toMatch(/^\/login\.php\?reason=kicked&why=no%20more&sig=/)
    expect((await t.app.inject({ url: to })).body).toContain('<p class="notice">A moderator removed you from the chat: no more</p>')
    expect(await t.database.query('SELECT * FROM jenChat_Messages')).toEqual([])
    // The next post knows without asking.
    expect(windowSentTo((await alice.say('and another')).body)).toBe(to)
  })

  it('shows no reason the chat did not sign', async () => {
    const alice = new Person(t.app, 'alice')
    await alice.join()
    await alice.poll()
    await chat('kick', 'alice', 'flooding')
    await nextPresenceBatch()
    const to = await pollEnded(alice)
    const forged = to.replace('flooding', 'send%20your%20password%20to%20evil.example')
    const page = await t.app.inject({ url: forged })
    expect(page.statusCode).toBe(200)
    expect(page.body).not.toContain('class="notice"')
    expect(page.body).not.toContain('evil')
  })

  it('without a reason says only that a moderator removed them', async () => {
    const alice = new Person(t.app, 'alice')
    await alice.join()
    await alice.poll()
    expect((await chat('kick', 'alice')).code).toBe(EXIT.ok)
    await nextPresenceBatch()
    const page = await t.app.inject({ url: await pollEnded(alice) })
    expect(page.body).toContain('<p class="notice">A moderator removed you from the chat.</p>')
  })

  it('refuses an unknown handle (exit 3) and a bad one (exit 2)', async () => {
    await new Person(t.app, 'alice').join()
    expect(await chat('kick', 'bob')).toEqual({
      code: EXIT.notFound, out: '', err: 'kick: nobody called "bob" is in the room (see: npm run chat -- who)'
    })
    const bad = await chat('kick', 'bob smith')
    expect(bad.code).toBe(EXIT.usage)
    expect(bad.err).toContain('is neither a handle')
    expect((await chat('kick')).code).toBe(EXIT.usage)
    expect((await chat('kick', 'alice', 'x'.repeat(121))).code).toBe(EXIT.usage)
    expect(await t.database.query('SELECT UserName FROM jenChat_Users')).toEqual([{ UserName: 'alice' }])
  })
})

describe('ban', () => {
  it('kicks the handle and refuses it (any case) with a 403 page that says why and for how long', async () => {
    const alice = new Person(t.app, 'alice', '10.0.0.5')
    await alice.join()
    await alice.poll()
    const result = await chat('ban', 'alice', '30', 'flooding', 'the', 'room')
    expect(result).toEqual({ code: EXIT.ok, out: 'banned alice for 30 minute(s); removed 1 participant(s) from the room', err: '' })

    await nextPresenceBatch()
    const kicked = await t.app.inject({ url: await pollEnded(alice) })
    expect(kicked.body).toContain('A moderator removed you from the chat: banned for 30 minute(s): flooding the room')

    for (const who of ['alice', 'ALICE']) {
      const refused = await login(who)
      expect(refused.statusCode).toBe(403)
      expect(refused.body).toContain('<p class="error">You may not join the chat for another 30 minute(s): flooding the room</p>')
      expect(Buffer.byteLength(refused.body)).toBeGreaterThanOrEqual(512)
      expect(xhtmlErrors(refused.body)).toBe('')
      expect(refused.cookies).toEqual([])
    }
    // The same address with another handle is welcome.
    expect((await login('carol', '10.0.0.5')).statusCode).toBe(302)
  })

  it('by address refuses every handle from there (IPv4 also as ::ffff:…), and no other address', async () => {
    const mallory = new Person(t.app, 'mallory', '192.0.2.66')
    await mallory.join()
    await mallory.poll()
    const result = await chat('ban', '192.0.2.66', 'forever')
    expect(result).toEqual({ code: EXIT.ok, out: 'banned 192.0.2.66 until unbanned; removed 1 participant(s) from the room', err: '' })
    await nextPresenceBatch()
    expect(await pollEnded(mallory)).toMatch(/^\/login\.php\?reason=kicked&why=banned&sig=/)

    for (const address of ['192.0.2.66', '::ffff:192.0.2.66']) {
      const refused = await login('someone-new', address)
      expect(refused.statusCode).toBe(403)
      expect(refused.body).toContain('<p class="error">You may not join the chat until a moderator lifts the ban.</p>')
    }
    expect((await login('someone-new', '192.0.2.67')).statusCode).toBe(302)
  })

  it('ends by itself: an expired ban lets them in and is no longer listed', async () => {
    expect((await chat('ban', 'alice', '1')).code).toBe(EXIT.ok)
    expect((await login('alice')).statusCode).toBe(403)
    await t.database.query('UPDATE jenChat_Bans SET Expires = NOW(3) - INTERVAL 1 SECOND')
    expect((await login('alice')).statusCode).toBe(302)
    expect(await chat('bans')).toEqual({ code: EXIT.ok, out: 'no bans', err: '' })
  })

  it('refuses bad durations and targets with exit 2, and bans nothing', async () => {
    for (const [args, message] of [
      [['ban', 'alice', '10x'], 'ban: bad duration "10x": give whole minutes from 1 to 5256000, or "forever" (then the reason)'],
      [['ban', 'alice', '0'], 'ban: bad duration "0"'],
      [['ban', 'alice', '-5'], 'ban: bad duration "-5"'],
      [['ban', 'alice', '99999999'], 'ban: bad duration "99999999"'],
      [['ban', 'alice', 'spamming'], 'ban: bad duration "spamming"'],
      [['ban', '10.0.0.300'], 'is neither a handle'],
      [['ban'], 'ban: name a handle or an address']
    ] as const) {
      const result = await chat(...args)
      expect(result.code, args.join(' ')).toBe(EXIT.usage)
      expect(result.err).toContain(message)
    }
    expect(await t.database.query('SELECT * FROM jenChat_Bans')).toEqual([])
  })

  it('bans lists what is in force; unban lifts it, and an unknown one exits 3', async () => {
    await chat('ban', 'alice', '90', 'rude')
    await chat('ban', '2001:DB8::1', 'forever', 'bot')
    const list = await chat('bans')
    expect(list.code).toBe(EXIT.ok)
    expect(list.out.split('\n')).toEqual([
      expect.stringMatching(/^TARGET\s+ENDS IN\s+REASON$/),
      expect.stringMatching(/^alice\s+1 h (29|30) min\s+rude$/),
      expect.stringMatching(/^2001:db8::1\s+never\s+bot$/)
    ])
    expect(await chat('unban', 'alice')).toEqual({ code: EXIT.ok, out: 'unbanned alice', err: '' })
    expect((await login('alice')).statusCode).toBe(302)
    expect(await chat('unban', 'alice')).toEqual({
      code: EXIT.notFound, out: '', err: 'unban: "alice" is not banned (see: npm run chat -- bans)'
    })
    expect((await chat('unban', '2001:db8::1')).code).toBe(EXIT.ok)
    expect(await chat('bans')).toEqual({ code: EXIT.ok, out: 'no bans', err: '' })
  })

  it('lives in an InnoDB table, the only one not in memory', async () => {
    const tables = await t.database.query<Array<{ Name: string, Engine: string }>>('SHOW TABLE STATUS')
    expect(Object.fromEntries(tables.map((table) => [table.Name, table.Engine]))).toEqual({
      jenChat_Bans: 'InnoDB',
      jenChat_Epoch: 'MEMORY',
      jenChat_Kicks: 'MEMORY',
      jenChat_Messages: 'MEMORY',
      jenChat_Sessions: 'MEMORY',
      jenChat_Users: 'MEMORY'
    })
  })
})

describe('say', () => {
  it('is delivered once to everyone present, in order with the messages, by every process', async () => {
    const other = await buildTestApp(t.database.url)
    try {
      const alice = new Person(t.app, 'alice')
      const bob = new Person(other, 'bob')
      await alice.join()
      await bob.join()
      await alice.say('first')
      expect(await chat('say', 'Server', 'restart <b>at</b> 5 & "soon"')).toEqual({ code: EXIT.ok, out: 'announced', err: '' })
      await bob.say('second')
      for (const app of [t.app, other]) await app.jenchat.room.refresh()

      for (const person of [alice, bob]) {
        const response = await person.request('GET', person.cursorUrl)
        expect(response.statusCode).toBe(200)
        const body = response.body
        expect(body).toMatch(/<div><strong>alice: <\/strong>first<\/div><div class="announcement"><em>Server restart at 5 &amp; &quot;soon&quot;<\/em><\/div><div><strong>bob: <\/strong>second<\/div>/)
        expect(xhtmlErrors(body)).toBe('')
        person.cursorUrl = '/' + (/var u="([^"]+)"/.exec(body)?.[1] as string)
        expect(await person.poll()).toEqual([])
      }
    } finally {
      await other.close()
    }
  })

  it('refuses an empty or too long announcement (exit 2)', async () => {
    expect((await chat('say')).code).toBe(EXIT.usage)
    expect((await chat('say', '<b></b>')).code).toBe(EXIT.usage)
    expect((await chat('say', 'x'.repeat(256))).code).toBe(EXIT.usage)
    expect(await t.database.query('SELECT * FROM jenChat_Messages')).toEqual([])
  })

  it('cannot be faked by a participant: no handle is "*"', async () => {
    expect((await login('*')).statusCode).toBe(400)
  })
})

describe('the command line', () => {
  it('prints the usage for no command (exit 2) and for help (exit 0), and refuses an unknown one', async () => {
    const none = await chat()
    expect(none.code).toBe(EXIT.usage)
    expect(none.err).toContain('usage: npm run chat -- COMMAND')
    expect((await chat('help')).code).toBe(EXIT.ok)
    expect(await chat('shout', 'hi')).toEqual({ code: EXIT.usage, out: '', err: 'shout: unknown command "shout"' })
  })

  it('says in one line that the database is unreachable, missing or the configuration bad', async () => {
    const errors: string[] = []
    const io = { log: () => undefined, error: (line: string) => errors.push(line) }
    expect(await runCli(['who'], { DATABASE_URL: 'mysql://root@127.0.0.1:1/jenchat' }, io)).toBe(EXIT.database)
    expect(errors.pop()).toBe('cannot reach the database at 127.0.0.1:1/jenchat (ECONNREFUSED)')
    const missing = new URL(t.database.url)
    missing.pathname = '/jenchat_test_no_such_database'
    expect(await runCli(['bans'], { DATABASE_URL: missing.toString() }, io)).toBe(EXIT.database)
    expect(errors.pop()).toContain(`the database at ${missing.host}/jenchat_test_no_such_database refused: Unknown database`)
    const empty = await createTestDatabase()
    try {
      expect(await runCli(['who'], { DATABASE_URL: empty.url }, io)).toBe(EXIT.database)
      expect(errors.pop()).toBe(`the chat's tables are not in the database at ${new URL(empty.url).host}/${empty.name} yet: start the server once (npm start creates them)`)
    } finally {
      await empty.drop()
    }
    expect(await runCli(['who'], { DATABASE_URL: 'postgres://x/y' }, io)).toBe(EXIT.config)
    expect(errors.pop()).toContain('DATABASE_URL must start with mysql://')
  })

  it('runs as `node dist/src/chat-cli.js` with the documented exit codes', () => {
    const cli = new URL('../../dist/src/chat-cli.js', import.meta.url).pathname
    const run = (args: string[], databaseUrl: string) => spawnSync(process.execPath, [cli, ...args], {
      env: { PATH: process.env.PATH ?? '', DATABASE_URL: databaseUrl }, encoding: 'utf8', timeout: 20_000
    })
    const ok = run(['bans'], t.database.url)
    expect([ok.status, ok.stdout, ok.stderr]).toEqual([EXIT.ok, 'no bans\n', ''])
    const unknown = run(['kick', 'nobody'], t.database.url)
    expect(unknown.status).toBe(EXIT.notFound)
    const down = run(['who'], 'mysql://root@127.0.0.1:1/jenchat')
    expect([down.status, down.stdout, down.stderr]).toEqual([EXIT.database, '', 'cannot reach the database at 127.0.0.1:1/jenchat (ECONNREFUSED)\n'])
  })
})
