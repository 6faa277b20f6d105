import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestDatabase, startTestServer, type TestDatabase, type TestServer } from '../helpers/app.js'
import { rawRequest as sendRaw } from '../helpers/raw-http.js'

// Node reads at most MAX_HEADER_BYTES of a request's headers (8 KB by default, half of Node's own
// default): every check of a header costs at most that much, and a larger block is refused.

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

const rawRequest = async (request: string): Promise<string> => await sendRaw(server.baseUrl, request)

const request = (headers: string): string => `GET /thread.php HTTP/1.1\r\nHost: 127.0.0.1\r\n${headers}\r\n`

describe('the header block', () => {
  it('is refused with 431 when it is larger than 8 KB (Node alone would read 16 KB)', async () => {
    for (const headers of [
      `User-Agent: Mozilla/4.0 (compatible; ${'MSIE 6.0; '.repeat(1000)})\r\n`,
      `Cookie: jenchat=${'x'.repeat(15_000)}\r\n`,
      Array.from({ length: 100 }, (_, i) => `X-Filler-${i}: ${'y'.repeat(80)}\r\n`).join('')
    ]) {
      const answer = await rawRequest(request(headers))
      expect(answer.split('\r\n')[0]).toBe('HTTP/1.1 431 Request Header Fields Too Large')
    }
  })

  it('is read when it is within 8 KB, as a browser sends it', async () => {
    const answer = await rawRequest(request(`User-Agent: Mozilla/5.0 (${'x'.repeat(1000)})\r\nCookie: other=${'z'.repeat(6000)}\r\nConnection: close\r\n`))
    // No session: the frame sends the window to the login page.
    expect(answer.split('\r\n')[0]).toBe('HTTP/1.1 403 Forbidden')
    expect(answer).toContain('top.location.replace(')
  })
})
