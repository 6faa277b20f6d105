import { connect, type Socket } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestDatabase, startTestServer, type TestDatabase, type TestServer } from '../helpers/app.js'

let database: TestDatabase
let server: TestServer
let port: number

beforeAll(async () => {
  database = await createTestDatabase()
  server = await startTestServer({ databaseUrl: database.url, env: { REQUEST_TIMEOUT_MS: '1000' } })
  port = Number(new URL(server.baseUrl).port)
})
afterAll(async () => {
  await server.close()
  await database.drop()
})

/** Opens a socket, writes `data`, and resolves with what the server sent once it closes. */
async function trickle (data: string): Promise<{ reply: string, socket: Socket }> {
  const socket = connect(port, '127.0.0.1')
  let reply = ''
  socket.setEncoding('latin1')
  socket.on('data', (chunk: string) => { reply += chunk })
  socket.write(data)
  await new Promise((resolve) => socket.once('close', resolve))
  return { reply, socket }
}

describe('slow or stuck clients', () => {
  it('a request whose headers never finish is cut off after REQUEST_TIMEOUT_MS', async () => {
    const started = performance.now()
    const { reply } = await trickle('GET /login.php HTTP/1.1\r\nHost: x\r\nX-Slow: ')
    const elapsed = performance.now() - started
    expect(reply.startsWith('HTTP/1.1 408')).toBe(true)
    expect(elapsed).toBeLessThan(4000)
  })

  it('a body that never arrives is cut off too', async () => {
    const { reply } = await trickle('POST /login.php HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 100\r\n\r\nwho=')
    expect(reply.startsWith('HTTP/1.1 408')).toBe(true)
  })

  it('does not stop others from being served meanwhile, and refuses bodies over 8 KiB', async () => {
    const stuck = Array.from({ length: 50 }, () => connect(port, '127.0.0.1').setNoDelay(true))
    for (const socket of stuck) socket.write('GET / HTTP/1.1\r\n')
    try {
      const ok = await fetch(`${server.baseUrl}/login.php`)
      expect(ok.status).toBe(200)
      const big = await fetch(`${server.baseUrl}/login.php`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: 'who=' + 'a'.repeat(9000)
      })
      expect(big.status).toBe(413)
      expect((await big.text()).trimEnd()).toBe('Request body too large')
    } finally {
      for (const socket of stuck) socket.destroy()
    }
  })
})
