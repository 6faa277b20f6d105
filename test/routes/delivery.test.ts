import type { FastifyInstance } from 'fastify'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { buildTestApp, createTestDatabase, Person, type TestDatabase } from '../helpers/app.js'

// Flood control would refuse the bursts these tests send on purpose.
const NO_FLOOD = { FLOOD_BURST_COUNT: '10000', FLOOD_SUSTAINED_COUNT: '10000' }

let database: TestDatabase
const apps: FastifyInstance[] = []

async function newApp (env: Record<string, string> = {}): Promise<FastifyInstance> {
  const app = await buildTestApp(database.url, { ...NO_FLOOD, ...env })
  apps.push(app)
  return app
}

beforeAll(async () => { database = await createTestDatabase() })
afterAll(async () => { await database.drop() })
afterEach(async () => {
  for (const app of apps.splice(0)) await app.close()
  await database.clear()
})

async function messagesInPostingOrder (): Promise<string[]> {
  const rows = await database.query<Array<{ Message: string }>>('SELECT Message FROM jenChat_Messages ORDER BY MessageID')
  return rows.map((row) => row.Message)
}

/** Polls until `done` resolves, then a few more times; returns every text received, in order. */
async function pollUntil (person: Person, done: Promise<unknown>): Promise<string[]> {
  const seen: string[] = []
  let finished = false
  void done.then(() => { finished = true })
  while (!finished) {
    for (const message of await person.poll()) seen.push(message.text)
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
  for (let i = 0; i < 3; i++) {
    await person.app.jenchat.room.refresh()
    for (const message of await person.poll()) seen.push(message.text)
  }
  return seen
}

async function postMany (person: Person, count: number): Promise<void> {
  for (let i = 0; i < count; i++) {
    const response = await person.say(`${person.handle}-${i}`)
    expect(response.headers.location).toBe('post.php')
  }
}

describe('exactly once, in posting order (defect 1)', () => {
  it('holds for concurrent posters and pollers on one process', async () => {
    const app = await newApp()
    const posters = ['p1', 'p2', 'p3', 'p4'].map((name) => new Person(app, name))
    const pollers = ['r1', 'r2', 'r3'].map((name) => new Person(app, name))
    for (const person of [...posters, ...pollers]) await person.join()

    const posting = Promise.all(posters.map(async (poster) => await postMany(poster, 25)))
    const received = await Promise.all(pollers.map(async (poller) => await pollUntil(poller, posting)))
    await posting

    const expected = await messagesInPostingOrder()
    expect(expected).toHaveLength(100)
    for (const seen of received) expect(seen).toEqual(expected)
  })

  it('holds with two app processes on one database, posting to one and polling the other', async () => {
    const one = await newApp()
    const two = await newApp()
    const posters = ['a1', 'a2', 'b1', 'b2'].map((name, i) => new Person(i < 2 ? one : two, name))
    const pollers = ['ra', 'rb'].map((name) => new Person(one, name))
    for (const person of [...posters, ...pollers]) await person.join()
    // Sessions live in the database: the same cookies work on the other process.
    ;(pollers[0] as Person).app = two
    ;(posters[0] as Person).app = two

    const posting = Promise.all(posters.map(async (poster) => await postMany(poster, 20)))
    const received = await Promise.all(pollers.map(async (poller) => await pollUntil(poller, posting)))
    await posting

    const expected = await messagesInPostingOrder()
    expect(expected).toHaveLength(80)
    for (const seen of received) expect(seen).toEqual(expected)
  })

  it('keeps messages of one second in the order they were posted', async () => {
    const app = await newApp()
    const alice = new Person(app, 'alice')
    const bob = new Person(app, 'bob')
    await alice.join()
    await bob.join()
    for (const text of ['1', '2', '3', '4', '5']) await alice.say(text)
    expect((await bob.poll()).map((m) => m.text)).toEqual(['1', '2', '3', '4', '5'])
  })

  it('does not deliver what was said before the participant joined, even to a forged cursor', async () => {
    const app = await newApp()
    const alice = new Person(app, 'alice')
    await alice.join()
    await alice.say('before bob')
    const bob = new Person(app, 'bob')
    await bob.join()
    await alice.say('after bob')
    expect((await bob.poll()).map((m) => m.text)).toEqual(['after bob'])
    bob.cursorUrl = '/thread.php?c=0'
    expect((await bob.poll()).map((m) => m.text)).toEqual(['after bob'])
  })

  it('survives garbage cursors by starting at the join point', async () => {
    const app = await newApp()
    const alice = new Person(app, 'alice')
    await alice.join()
    await alice.say('before bob')
    const bob = new Person(app, 'bob')
    await bob.join()
    await alice.say('after bob')
    // Each garbage cursor answers as a cursor at bob's join point: what came after, nothing before,
    // and the next poll starts after the newest message.
    for (const c of ['x', '-1', '1e3', '99999999999', '', '%00', '0x0', '1,2', '00000000001']) {
      bob.cursorUrl = `/thread.php?c=${c}`
      expect((await bob.poll()).map((m) => m.text), c).toEqual(['after bob'])
      expect(bob.cursorUrl, c).toMatch(/^\/thread\.php\?c=\d+$/)
      expect(await bob.poll(), c).toEqual([])
    }
  })
})

describe('publishing a process\'s own posts', () => {
  it('is immediate in a quiet room; in a busy one it waits for the next refresh, so polls in between share answers', async () => {
    const app = await newApp({ ROOM_REFRESH_MS: '5000' })
    const writer = new Person(app, 'writer')
    const reader = new Person(app, 'reader')
    await writer.join()
    await reader.join()
    await writer.say('quiet')
    expect((await reader.poll()).map((m) => m.text)).toEqual(['quiet'])

    // More than 50 polls since the last publish: the room is busy.
    for (let i = 0; i < 60; i++) await reader.poll()
    await writer.say('busy')
    expect(await reader.poll()).toEqual([])
    await app.jenchat.room.refresh()
    expect((await reader.poll()).map((m) => m.text)).toEqual(['busy'])
    expect((await writer.poll()).map((m) => m.text)).toEqual(['quiet', 'busy'])
  })
})

describe('messages outlive their author (defect 2)', () => {
  it('are delivered after the author logged out', async () => {
    const app = await newApp()
    const alice = new Person(app, 'alice')
    const bob = new Person(app, 'bob')
    await alice.join()
    await bob.join()
    await alice.say('goodbye')
    await alice.logout()
    expect(await bob.poll()).toEqual([{ name: 'alice', text: 'goodbye' }])
  })

  it('are delivered after the author was collected for idleness', async () => {
    // Garbage collection on every post, as the original (by default at most once a second).
    const app = await newApp({ GC_INTERVAL_MS: '0' })
    const alice = new Person(app, 'alice')
    const bob = new Person(app, 'bob')
    await alice.join()
    await bob.join()
    await alice.say('last words')
    await database.query("UPDATE jenChat_Users SET LastUpdate = NOW(3) - INTERVAL 31 SECOND WHERE UserName = 'alice'")
    await bob.say('anyone?')
    expect(await database.query("SELECT * FROM jenChat_Users WHERE UserName = 'alice'")).toEqual([])
    expect(await bob.poll()).toEqual([{ name: 'alice', text: 'last words' }, { name: 'bob', text: 'anyone?' }])
  })
})

describe('no posting into the void (defect 3)', () => {
  it('sends a collected participant to the login page and stores nothing', async () => {
    const app = await newApp()
    const alice = new Person(app, 'alice')
    const bob = new Person(app, 'bob')
    await alice.join()
    await bob.join()
    await database.query("UPDATE jenChat_Users SET LastUpdate = NOW(3) - INTERVAL 31 SECOND WHERE UserName = 'alice'")
    await bob.say('collects alice')
    const post = await alice.say('into the void?')
    expect(post.statusCode).toBe(302)
    expect(post.headers.location).toBe('post.php?notice=expired')
    const frame = await alice.request('GET', post.headers.location as string)
    // The window leaves through logout with the session's token, which ends the session too.
    const leave = `./login.php?logout=true&reason=expired&token=${alice.token}`
    expect(frame.body).toContain(`top.location.replace("${leave.replace(/&/g, '\\u0026')}")`)
    expect(await messagesInPostingOrder()).toEqual(['collects alice'])
    const login = await alice.request('GET', leave.slice(1))
    expect(login.headers.location).toBe('./login.php?reason=expired')
    const page = await alice.request('GET', '/login.php?reason=expired')
    expect(page.body).toContain('<p class="notice">Your chat session has ended')
  })

  it('sends a participant who logged out elsewhere to the login page from their thread frame', async () => {
    const one = await newApp()
    const two = await newApp()
    const alice = new Person(one, 'alice')
    await alice.join()
    await alice.poll()
    const elsewhere = new Person(two, 'alice')
    elsewhere.cookie = alice.cookie
    elsewhere.token = alice.token
    await elsewhere.logout()
    // Process one learns it with its next presence batch, at most one poll interval later.
    await alice.poll()
    await one.jenchat.room.flushPresence()
    const response = await alice.request('GET', alice.cursorUrl)
    expect(response.statusCode).toBe(403)
    expect(response.body).toContain('top.location.replace("./login.php?reason=expired")')
    expect(alice.cookie).toBe('')
  })
})
