import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { FastifyInstance } from 'fastify'
import { buildTestApp, createTestDatabase, Person, type TestDatabase } from '../helpers/app.js'
import { createTcpProxy, type TcpProxy } from '../helpers/tcp-proxy.js'

// Issue 10, point 6: a request from someone who isn't logged in costs no database query. Counted
// where statements leave the app (the Database object's counter), with the room's timers stopped
// so that only the requests under test can move it.

let database: TestDatabase
let proxy: TcpProxy
let app: FastifyInstance

beforeAll(async () => {
  database = await createTestDatabase()
  const target = new URL(database.url)
  proxy = await createTcpProxy({ host: target.hostname, port: Number(target.port) })
  app = await buildTestApp(proxy.url(database.url))
})

afterAll(async () => {
  await app?.close()
  await proxy?.close()
  await database?.drop()
})

/** Statements the app sent while `work` ran, with the room's background refresh out of the way. */
async function statementsDuring (work: () => Promise<void>): Promise<number> {
  await app.jenchat.room.stop()
  try {
    const before = app.jenchat.db.statementsSent
    await work()
    return app.jenchat.db.statementsSent - before
  } finally {
    await app.jenchat.room.start()
  }
}

describe('anonymous requests cost no query', () => {
  it('/healthz answers from what the room and the pool last saw', async () => {
    const statements = await statementsDuring(async () => {
      for (let i = 0; i < 20; i++) {
        const response = await app.inject('/healthz')
        expect(response.statusCode).toBe(200)
        expect(response.body).toBe('ok\n')
      }
    })
    expect(statements).toBe(0)
  })

  it('login.php?logout=true without a session (no cookie, a forged one, any token) only goes to the login page', async () => {
    const requests = [
      { url: '/login.php?logout=true' },
      { url: '/login.php?logout=true&token=abc' },
      { url: '/login.php?logout=true&reason=expired' },
      { url: '/login.php?logout=true', headers: { cookie: 'jenchat=forged.signature' } },
      { url: '/login.php?logout=true', method: 'POST' as const, headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: 'token=abc' }
    ]
    const statements = await statementsDuring(async () => {
      for (const request of requests) {
        const response = await app.inject(request)
        expect(response.statusCode, request.url).toBe(302)
        expect(response.headers.location).toMatch(/^\.\/login\.php(\?reason=expired)?$/)
      }
    })
    expect(statements).toBe(0)
  })

  it('the counter sees what a logged-in request costs (it is not stuck at zero)', async () => {
    const alice = new Person(app, 'alice')
    await alice.join()
    const statements = await statementsDuring(async () => { await alice.logout() })
    expect(statements).toBeGreaterThan(0)
  })
})

describe('/healthz while the database is unreachable', () => {
  it('answers 503 at once, and 200 again once the room reaches the database', async () => {
    proxy.refuse()
    try {
      await expect(app.jenchat.room.refresh()).rejects.toThrow()
      const started = performance.now()
      const response = await app.inject('/healthz')
      expect(performance.now() - started).toBeLessThan(100)
      expect(response.statusCode).toBe(503)
      expect(response.body.trimEnd()).toBe('database unreachable')
    } finally {
      proxy.restore()
    }
    await app.jenchat.room.refresh()
    expect((await app.inject('/healthz')).statusCode).toBe(200)
  })
})
