import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { connect, type Socket } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestDatabase, startTestServer, TEST_SECRET, type TestDatabase, type TestServer } from '../helpers/app.js'

// `npm test` builds dist/ before running vitest: the file-limit test runs the real entry point.
const SERVER = new URL('../../dist/src/server.js', import.meta.url).pathname

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

  it('refuses bodies over 8 KiB', async () => {
    const big = await fetch(`${server.baseUrl}/login.php`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'who=' + 'a'.repeat(9000)
    })
    expect(big.status).toBe(413)
    // Padded to 512 bytes for old IE (src/error-page-size.ts).
    expect((await big.text()).trimEnd()).toBe('Request body too large')
  })
})

describe('stuck clients that take every connection the process may open', () => {
  // The real server process, limited to 100 open files (production has a limit too, e.g. 20,000):
  // 150 clients that never finish their request line take all of them, and Node refuses everyone
  // else until the stuck ones are cut off after REQUEST_TIMEOUT_MS. Without that cut-off (Node's
  // own header timeout is a minute) nobody else would be served.
  const OPEN_FILES = 100
  const STUCK = 150
  // Long enough that the premise below holds on a loaded machine, short enough for a test.
  const REQUEST_TIMEOUT_MS = 5000

  it('are cut off, so that others are served again within REQUEST_TIMEOUT_MS', async () => {
    const stuckDatabase = await createTestDatabase()
    const child = spawn('prlimit', [`--nofile=${OPEN_FILES}:${OPEN_FILES}`, process.execPath, SERVER], {
      env: {
        PATH: process.env.PATH ?? '',
        PORT: '0',
        HOST: '127.0.0.1',
        DATABASE_URL: stuckDatabase.url,
        SESSION_SECRET: TEST_SECRET,
        REQUEST_TIMEOUT_MS: String(REQUEST_TIMEOUT_MS)
      },
      stdio: ['ignore', 'pipe', 'pipe']
    })
    let output = ''
    child.stdout.on('data', (chunk: Buffer) => { output += chunk.toString() })
    child.stderr.on('data', (chunk: Buffer) => { output += chunk.toString() })
    const stuck: Socket[] = []
    try {
      let listening: RegExpExecArray | null = null
      for (let i = 0; i < 400 && listening === null && child.exitCode === null; i++) {
        await new Promise((resolve) => setTimeout(resolve, 50))
        listening = /Server listening at http:\/\/127\.0\.0\.1:(\d+)/.exec(output)
      }
      if (listening === null) throw new Error(`server did not start: ${output}`)
      const serverPort = Number(listening[1])

      for (let i = 0; i < STUCK; i++) {
        const socket = connect(serverPort, '127.0.0.1')
        socket.on('error', () => undefined)
        socket.write('GET / HTTP/1.1\r\n')
        stuck.push(socket)
      }
      const started = performance.now()
      // The premise: right now nobody else gets an answer (every file the process may open is taken).
      expect(await statusLine(serverPort)).toBe('')
      let answer = ''
      while (answer === '' && performance.now() - started < REQUEST_TIMEOUT_MS + 4000) {
        await new Promise((resolve) => setTimeout(resolve, 200))
        answer = await statusLine(serverPort)
      }
      expect(answer).toBe('HTTP/1.1 200 OK')
      expect(child.exitCode).toBeNull()
    } finally {
      for (const socket of stuck) socket.destroy()
      child.kill('SIGTERM')
      if (child.exitCode === null) await once(child, 'exit')
      await stuckDatabase.drop()
    }
  })
})

/** GET /login.php on a new connection: the response's status line, or '' when refused or closed without one. */
async function statusLine (serverPort: number): Promise<string> {
  return await new Promise((resolve) => {
    const socket = connect(serverPort, '127.0.0.1')
    let reply = ''
    socket.setEncoding('latin1')
    socket.setTimeout(2000, () => socket.destroy())
    socket.on('error', () => undefined)
    socket.on('data', (chunk: string) => {
      reply += chunk
      if (reply.includes('\r\n')) socket.destroy()
    })
    socket.on('close', () => { resolve(reply.includes('\r\n') ? reply.slice(0, reply.indexOf('\r\n')) : '') })
    socket.write('GET /login.php HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')
  })
}
