import { Signer } from '@fastify/cookie'
import type { Session } from 'fastify'
import { describe, expect, it } from 'vitest'
import { LOGIN_THROTTLE_ADDRESSES } from '../../src/login-throttle.js'
import { createSessionStore, type SessionStoreOptions } from '../../src/session-store.js'
import { Person, TEST_SECRET, useFreshApp } from '../helpers/app.js'

// What an anonymous client can make the server remember: nothing that grows with what it sends.

const t = useFreshApp()
const signer = new Signer(TEST_SECRET)

/** Counts the statements the app sends to the database from now on. */
function countQueries (): () => number {
  const { db } = t.app.jenchat
  let count = 0
  const rows = db.rows.bind(db)
  const write = db.write.bind(db)
  db.rows = async (...args) => { count++; return await rows(...args) }
  db.write = async (...args) => { count++; return await write(...args) }
  return () => count
}

async function poll (cookie: string) {
  return await t.app.inject({ method: 'GET', url: '/thread.php', headers: { cookie } })
}

describe('junk session cookies on the poll', () => {
  it('are answered with the way out, cost no query and are not remembered', async () => {
    const alice = new Person(t.app, 'alice')
    await alice.join()
    await alice.poll()
    const { sessionCookies, sessionStore, room } = t.app.jenchat
    // Stop the room's own timers from counting.
    await room.stop()
    const queries = countQueries()
    const before = sessionStore.cacheUsage()
    for (let i = 0; i < 3000; i++) {
      const cookie = i % 3 === 0
        ? `jenchat=${'x'.repeat(6000)}${i}` // long, like the 15 KB flood
        : i % 3 === 1
          ? `jenchat=${signer.sign('made-up-session-id-' + String(i).padStart(13, '0')).slice(0, -43)}${'!'.repeat(43)}` // forged
          : `jenchat=junk${i}`
      const response = await poll(cookie)
      expect(response.statusCode).toBe(403)
      expect(response.body).toContain('top.location.replace("./login.php?reason=expired")')
    }
    expect(queries()).toBe(0)
    expect(sessionCookies.usage().entries).toBe(1) // alice's, from her first poll
    expect(sessionStore.cacheUsage()).toEqual(before)
    // Alice still polls.
    expect((await alice.request('GET', '/thread.php')).statusCode).toBe(200)
  })
})

describe('the session store\'s caches', () => {
  const OPTIONS: SessionStoreOptions = { lifetimeMs: 3600_000, cacheMs: 60_000, cacheEntries: 50, cacheBytes: 1024 * 1024, missingEntries: 20 }

  /** A store of its own (as in another process) on the app's database, counting its reads. */
  function storeCountingReads (options: Partial<SessionStoreOptions> = {}) {
    const { sessions } = t.app.jenchat
    let finds = 0
    const store = createSessionStore({ ...sessions, find: async (id) => { finds++; return await sessions.find(id) } }, { ...OPTIONS, ...options })
    return { store, finds: () => finds }
  }

  const session = (userId: number) => ({ userId, handle: `h${userId}`, token: 'x'.repeat(24), joinCursor: 0 }) as unknown as Session

  async function save (store: ReturnType<typeof createSessionStore>, id: string, userId: number): Promise<void> {
    await new Promise<void>((resolve, reject) => store.set(id, session(userId), (error) => error === undefined ? resolve() : reject(error)))
  }

  it('remember a session that is gone, so its cookie is not a query per poll', async () => {
    const other = storeCountingReads()
    const here = storeCountingReads()
    await save(other.store, 'gone-elsewhere-0000000000000000', 1)
    expect(await here.store.read('gone-elsewhere-0000000000000000')).not.toBeNull()
    await other.store.remove('gone-elsewhere-0000000000000000')
    // Another process ended it; this one still trusts its cache (and room.isGone ends the participant).
    const fresh = storeCountingReads()
    for (let i = 0; i < 10; i++) expect(await fresh.store.read('gone-elsewhere-0000000000000000')).toBeNull()
    expect(fresh.finds()).toBe(1)
    // A session this process ended costs no query at all.
    await save(here.store, 'ended-here-000000000000000000000', 2)
    await here.store.remove('ended-here-000000000000000000000')
    const findsBefore = here.finds()
    for (let i = 0; i < 10; i++) expect(await here.store.read('ended-here-000000000000000000000')).toBeNull()
    expect(here.finds()).toBe(findsBefore)
  })

  it('forget what they knew missing when a session of that id is stored', async () => {
    // One entry only, so the stored session soon falls out of the cache and is read again.
    const { store } = storeCountingReads({ cacheEntries: 1 })
    expect(await store.read('later-000000000000000000000000000')).toBeNull()
    await save(store, 'later-000000000000000000000000000', 3)
    await save(store, 'pushes-it-out-0000000000000000000', 4)
    expect(await store.read('later-000000000000000000000000000')).toMatchObject({ userId: 3 })
  })

  it('are bounded in entries and in bytes', async () => {
    const byEntries = storeCountingReads({ cacheEntries: 20 })
    const byBytes = storeCountingReads({ cacheEntries: 1000, cacheBytes: 8 * 1024 })
    for (let i = 0; i < 60; i++) {
      const id = `bounded-${String(i).padStart(24, '0')}`
      await save(byEntries.store, id, i)
      await save(byBytes.store, id + 'b', i)
      expect(await byEntries.store.read(`missing-${String(i).padStart(24, '0')}`)).toBeNull()
    }
    expect(byEntries.store.cacheUsage().entries).toBe(20)
    expect(byEntries.store.cacheUsage().missing).toBe(OPTIONS.missingEntries)
    expect(byBytes.store.cacheUsage().bytes).toBeLessThanOrEqual(8 * 1024)
    expect(byBytes.store.cacheUsage().entries).toBeGreaterThan(3)
    expect(byBytes.store.cacheUsage().entries).toBeLessThan(60)
    // What fell out is read again from the database.
    expect(await byEntries.store.read(`bounded-${String(0).padStart(24, '0')}`)).toMatchObject({ userId: 0 })
  })
})

describe('refused logins from a spray of addresses (IPv6: of /64 networks)', () => {
  const refusedLogin = async (remoteAddress: string) => await t.app.inject({
    method: 'POST', url: '/login.php', remoteAddress, payload: 'who=bad+handle', headers: { 'content-type': 'application/x-www-form-urlencoded' }
  })

  it('keep the counter bounded, and it still blocks an address that keeps trying', async () => {
    const { loginThrottle } = t.app.jenchat
    const spray = LOGIN_THROTTLE_ADDRESSES + 500
    for (let i = 0; i < spray; i++) {
      const response = await refusedLogin(`2001:db8:${i.toString(16)}::1`)
      expect(response.statusCode).toBe(400)
    }
    expect(loginThrottle.usage().entries).toBe(LOGIN_THROTTLE_ADDRESSES)
    expect(loginThrottle.usage().bytes).toBeLessThanOrEqual(LOGIN_THROTTLE_ADDRESSES * 256)
    for (let i = 0; i < 20; i++) expect((await refusedLogin('2001:db8:1::1')).statusCode).toBe(400)
    expect((await refusedLogin('2001:db8:1::1')).statusCode).toBe(429)
  })
})
