import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestDatabase, Person, startTestServer, type TestDatabase, type TestServer } from '../helpers/app.js'
import { rawRequest } from '../helpers/raw-http.js'

// Old IE (5–8, "friendly HTTP error messages" on by default) replaces an error answer shorter than
// 512 bytes with a page of its own: every refusal the server can give must be at least that long.

let database: TestDatabase
let server: TestServer

beforeAll(async () => {
  database = await createTestDatabase()
  server = await startTestServer({ databaseUrl: database.url })
})
afterAll(async () => {
  await server.close()
  await database.drop()
})

/** One raw request; the status line and the body's length in bytes. */
async function raw (request: string): Promise<{ status: number, bodyBytes: number }> {
  const answer = await rawRequest(server.baseUrl, request)
  return { status: Number(answer.slice(9, 12)), bodyBytes: answer.length - answer.indexOf('\r\n\r\n') - 4 }
}

describe('every 4xx answer is long enough for old IE to show it', () => {
  const cases: Array<[string, (person: Person) => Promise<{ statusCode: number, rawPayload: Buffer }>]> = [
    ['unknown path (404)', async (p) => await p.app.inject({ url: '/nothing-here' })],
    ['wrong method (404)', async (p) => await p.app.inject({ method: 'DELETE', url: '/login.php' })],
    ['JSON body (415)', async (p) => await p.app.inject({ method: 'POST', url: '/login.php', headers: { 'content-type': 'application/json' }, payload: '{}' })],
    ['body over the limit (413)', async (p) => await p.app.inject({ method: 'POST', url: '/login.php', headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: 'who=' + 'a'.repeat(20_000) })],
    ['bad escape in the path (400)', async (p) => await p.app.inject({ url: '/%E0%A4%A' })],
    ['poll without a session (403)', async (p) => await p.app.inject({ url: '/thread.php' })],
    ['post without a session (403)', async (p) => await p.app.inject({ method: 'POST', url: '/post.php', headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: 'message=hi' })],
    ['empty handle (400)', async (p) => await p.request('POST', '/login.php', { who: '' })],
    ['forged post (403)', async (p) => { await p.join(); return await p.request('POST', '/post.php', { message: 'hi', token: 'wrong' }) }]
  ]
  for (const [name, send] of cases) {
    it(name, async () => {
      const person = new Person(server.app, `p${Math.floor(Math.random() * 1e6)}`)
      const response = await send(person)
      expect(response.statusCode).toBeGreaterThanOrEqual(400)
      expect(response.statusCode).toBeLessThan(500)
      expect(response.rawPayload.length).toBeGreaterThanOrEqual(512)
    })
  }

  it('answers of the HTTP parser itself: a malformed request line (400) and a header block over the limit (431)', async () => {
    const malformed = await raw('GET / HTTP/1.1 junk\r\n\r\n')
    expect(malformed.status).toBe(400)
    expect(malformed.bodyBytes).toBeGreaterThanOrEqual(512)
    const oversized = await raw(`GET /login.php HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: ${'x'.repeat(12_000)}\r\n\r\n`)
    expect(oversized.status).toBe(431)
    expect(oversized.bodyBytes).toBeGreaterThanOrEqual(512)
  })
})
