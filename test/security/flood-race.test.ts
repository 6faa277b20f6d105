import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import type { FastifyInstance } from 'fastify'
import { buildTestApp, createTestDatabase, Person, type TestDatabase } from '../helpers/app.js'

// Issue 10, point 7: flood control must hold for parallel posts of one participant (two tabs, two
// app processes): the check and the insert are one statement. Two apps on one database here.

let database: TestDatabase
let one: FastifyInstance
let two: FastifyInstance

beforeAll(async () => {
  database = await createTestDatabase()
  // Garbage collection on every post, as the original: the most statements between check and insert.
  one = await buildTestApp(database.url, { GC_INTERVAL_MS: '0' })
  two = await buildTestApp(database.url, { GC_INTERVAL_MS: '0' })
})

afterEach(async () => { await database.clear() })

afterAll(async () => {
  await one?.close()
  await two?.close()
  await database?.drop()
})

/** The same browser session, seen through both processes. */
async function participantInBothProcesses (handle: string): Promise<[Person, Person]> {
  const here = new Person(one, handle)
  await here.join()
  const there = new Person(two, handle)
  there.cookie = here.cookie
  there.token = here.token
  return [here, there]
}

async function stored (): Promise<string[]> {
  const rows = await database.query<Array<{ Message: string }>>('SELECT Message FROM jenChat_Messages ORDER BY MessageID')
  return rows.map((row) => row.Message)
}

/** post.php's answers, by where they redirect to. */
function outcomes (responses: Array<{ headers: Record<string, unknown> }>): Record<string, number> {
  const counts: Record<string, number> = {}
  for (const response of responses) {
    const location = String(response.headers.location)
    counts[location] = (counts[location] ?? 0) + 1
  }
  return counts
}

describe('parallel posts of one participant through two processes', () => {
  it('store at most the burst limit (5), and the rest are told they are too fast', async () => {
    const [here, there] = await participantInBothProcesses('alice')
    const responses = await Promise.all(Array.from({ length: 20 }, async (_, i) =>
      await (i % 2 === 0 ? here : there).say(`message ${i}`)))
    expect(await stored()).toHaveLength(5)
    expect(outcomes(responses)).toEqual({ 'post.php': 5, 'post.php?notice=flood': 15 })
  })

  it('store one copy of the same text, and the rest are told it is a duplicate', async () => {
    const [here, there] = await participantInBothProcesses('bob')
    const responses = await Promise.all(Array.from({ length: 4 }, async (_, i) =>
      await (i % 2 === 0 ? here : there).say('same text')))
    expect(await stored()).toEqual(['same text'])
    expect(outcomes(responses)).toEqual({ 'post.php': 1, 'post.php?notice=duplicate': 3 })
  })

  it('compare texts exactly: a text differing only in case is a new message', async () => {
    const [here] = await participantInBothProcesses('carol')
    expect((await here.say('Hello')).headers.location).toBe('post.php')
    expect((await here.say('hello')).headers.location).toBe('post.php')
    expect((await here.say('hello')).headers.location).toBe('post.php?notice=duplicate')
    expect(await stored()).toEqual(['Hello', 'hello'])
  })

  it('hold the sustained limit (20 in 30 s) too', async () => {
    const apps = [
      await buildTestApp(database.url, { FLOOD_BURST_COUNT: '100' }),
      await buildTestApp(database.url, { FLOOD_BURST_COUNT: '100' })
    ] as const
    try {
      const here = new Person(apps[0], 'dave')
      await here.join()
      const there = new Person(apps[1], 'dave')
      there.cookie = here.cookie
      there.token = here.token
      const responses = await Promise.all(Array.from({ length: 30 }, async (_, i) =>
        await (i % 2 === 0 ? here : there).say(`message ${i}`)))
      expect(await stored()).toHaveLength(20)
      expect(outcomes(responses)).toEqual({ 'post.php': 20, 'post.php?notice=flood': 10 })
    } finally {
      for (const app of apps) await app.close()
    }
  })

  it('tell a collected participant that their session ended, whatever else', async () => {
    const [here] = await participantInBothProcesses('erin')
    await here.say('first')
    await database.query("DELETE FROM jenChat_Users WHERE UserName = 'erin'")
    expect((await here.say('first')).headers.location).toBe('post.php?notice=expired')
  })
})
