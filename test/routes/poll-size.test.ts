import { connect } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestDatabase, Person, startTestServer, type TestDatabase, type TestServer } from '../helpers/app.js'

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

/** Sends raw HTTP requests on one keep-alive socket and returns each raw response, headers and all. */
async function rawExchange (requests: string[]): Promise<string[]> {
  const port = Number(new URL(server.baseUrl).port)
  const socket = connect(port, '127.0.0.1')
  const responses: string[] = []
  let buffer = ''
  return await new Promise((resolve, reject) => {
    socket.setEncoding('latin1')
    socket.on('error', reject)
    const sendNext = (): void => { socket.write(requests[responses.length] as string) }
    socket.on('data', (chunk: string) => {
      buffer += chunk
      const headerEnd = buffer.indexOf('\r\n\r\n')
      if (headerEnd === -1) return
      const length = Number(/content-length: (\d+)/i.exec(buffer.slice(0, headerEnd))?.[1] ?? 0)
      if (buffer.length < headerEnd + 4 + length) return
      responses.push(buffer.slice(0, headerEnd + 4 + length))
      buffer = buffer.slice(headerEnd + 4 + length)
      if (responses.length === requests.length) {
        socket.end()
        resolve(responses)
      } else {
        sendNext()
      }
    })
    sendNext()
  })
}

describe('an empty poll on the wire', () => {
  it('fits the tutorial one-packet budget: at most 600 bytes with every security and no-cache header, on a connection that stays open', async () => {
    const alice = new Person(server.app, 'alice')
    await alice.join()
    const request = `GET /thread.php HTTP/1.1\r\nHost: 127.0.0.1\r\nCookie: ${alice.cookie}\r\n\r\n`
    const responses = await rawExchange([request, request, request])
    for (const response of responses) {
      expect(response.startsWith('HTTP/1.1 200 OK\r\n')).toBe(true)
      expect(response).toContain('setTimeout("location.reload()",1000)')
      expect(response).toMatch(/\r\nexpires: 0\r\n/i)
      expect(response).toMatch(/\r\nx-content-type-options: nosniff\r\n/i)
      expect(response).toMatch(/\r\ncontent-security-policy: frame-ancestors 'self'\r\n/i)
      expect(response).toMatch(/\r\nx-frame-options: SAMEORIGIN\r\n/i)
      expect(response).toMatch(/\r\ncontent-type: text\/html; charset=utf-8\r\n/i)
      expect(response).toMatch(/\r\ndate: /i)
      expect(response).toMatch(/\r\ncache-control: no-store, no-cache, must-revalidate\r\n/i)
      expect(response).toMatch(/\r\npragma: no-cache\r\n/i)
      expect(response).not.toMatch(/set-cookie/i)
      expect(Buffer.byteLength(response, 'latin1')).toBeLessThanOrEqual(600)
    }
  })

  it('still tells HTTP/1.0 clients that the connection stays open', async () => {
    const alice = new Person(server.app, 'bob')
    await alice.join()
    const [response] = await rawExchange([`GET /thread.php HTTP/1.0\r\nConnection: keep-alive\r\nCookie: ${alice.cookie}\r\n\r\n`])
    expect(response).toMatch(/\r\nConnection: keep-alive\r\n/)
  })
})
