import { randomBytes } from 'node:crypto'
import { request } from 'node:http'
import { hostname } from 'node:os'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { EXIT_CODES } from '../../src/db/first-run.js'
import { TEST_SECRET } from '../helpers/app.js'
import { adminConnection, createTestDatabase, type TestDatabase } from '../helpers/database.js'
import { startServerProcess, waitForListening, waitForOutput, type ServerProcess } from '../helpers/server-process.js'

// Real processes that start, die and restart: longer limits for this file.
vi.setConfig({ testTimeout: 60_000 })

let database: TestDatabase
beforeAll(async () => { database = await createTestDatabase() })
afterAll(async () => { await database.drop() })

interface Answer { status: number, headers: Record<string, string | string[] | undefined>, body: string }

/** One request on a connection of its own, so that the cluster may hand it to any worker. */
async function fresh (url: string, options: { method?: string, cookie?: string, form?: string } = {}): Promise<Answer> {
  return await new Promise((resolve, reject) => {
    const headers: Record<string, string> = { connection: 'close' }
    if (options.cookie !== undefined) headers.cookie = options.cookie
    if (options.form !== undefined) headers['content-type'] = 'application/x-www-form-urlencoded'
    const req = request(url, { method: options.method ?? 'GET', agent: false, headers }, (res) => {
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (chunk: string) => { body += chunk })
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }))
    })
    req.on('error', reject)
    req.end(options.form)
  })
}

/** The pids of the processes that logged "Server listening". */
function listeningPids (server: ServerProcess): number[] {
  return [...server.output().matchAll(/"pid":(\d+),[^\n]*Server listening at/g)].map((m) => Number(m[1]))
}

/** The pids that logged an incoming request for `path`. */
function pidsServing (server: ServerProcess, path: string): Set<number> {
  const pattern = new RegExp(`"pid":(\\d+),[^\\n]*"url":"${path.replace(/[.?]/g, '\\$&')}"[^\\n]*"msg":"incoming request"`, 'g')
  return new Set([...server.output().matchAll(pattern)].map((m) => Number(m[1])))
}

function alive (pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

describe('WORKERS=2', () => {
  it('runs two processes behind one port that share a random session secret, restarts one that dies, and stops both on SIGTERM', async () => {
    // No SESSION_SECRET: the primary makes one and gives it to both workers.
    const server = startServerProcess({ WORKERS: '2', PORT: '0', HOST: '127.0.0.1', DATABASE_URL: database.url, LOG_LEVEL: 'info' })
    const baseUrl = await waitForListening(server, 2)
    const [first, second] = listeningPids(server)
    expect(first).not.toBe(second)
    expect(server.output().match(/SESSION_SECRET is not set/g)).toHaveLength(1)
    await waitForOutput(server, `"pid":${server.child.pid as number},"hostname":"${hostname()}","msg":"2 workers listening on port ${new URL(baseUrl).port}"`)

    const login = await fresh(`${baseUrl}/login.php`, { method: 'POST', form: 'who=alice' })
    expect(login.status).toBe(302)
    const cookie = String(login.headers['set-cookie']).split(';', 1)[0] as string
    for (let i = 0; i < 6; i++) {
      // Whichever worker answers knows the session: one secret, one session table.
      expect((await fresh(`${baseUrl}/chat.php`, { cookie })).status).toBe(200)
    }
    // The workers' log lines come through a pipe and may arrive after the answers.
    await vi.waitFor(() => { expect(pidsServing(server, '/chat.php')).toEqual(new Set([first, second])) }, { timeout: 5000 })

    process.kill(first as number, 'SIGKILL')
    await waitForListening(server, 3)
    const restarted = listeningPids(server)[2] as number
    expect([first, second]).not.toContain(restarted)
    await vi.waitFor(() => { expect(server.output()).toMatch(new RegExp(`"level":40,[^\\n]*"msg":"worker ${first as number} exited \\(SIGKILL\\); starting another( in \\d+ ms)?"`)) }, { timeout: 5000 })
    for (let i = 0; i < 6; i++) expect((await fresh(`${baseUrl}/chat.php`, { cookie })).status).toBe(200)
    await vi.waitFor(() => { expect(pidsServing(server, '/chat.php')).toContain(restarted) }, { timeout: 5000 })

    server.child.kill('SIGTERM')
    expect(await server.exited).toBe(0)
    expect(server.output().match(/"msg":"shutting down"/g)).toHaveLength(2)
    expect(alive(second as number)).toBe(false)
    expect(alive(restarted)).toBe(false)
  })

  it('validates the configuration once, in the primary', async () => {
    const server = startServerProcess({ WORKERS: '2', PORT: '99999', DATABASE_URL: database.url, SESSION_SECRET: TEST_SECRET })
    expect(await server.exited).toBe(EXIT_CODES.config)
    expect(server.output().match(/PORT must be between 0 and 65535, got 99999/g)).toHaveLength(1)
    const zero = startServerProcess({ WORKERS: '0', DATABASE_URL: database.url, SESSION_SECRET: TEST_SECRET })
    expect(await zero.exited).toBe(EXIT_CODES.config)
    expect(zero.output()).toContain('WORKERS must be between 1 and 64, got 0')
  })

  it('stops with the first worker\'s exit code when it cannot start, instead of restarting it for ever', async () => {
    const admin = await adminConnection()
    const user = 'jenchat_t_' + randomBytes(4).toString('hex')
    const password = randomBytes(9).toString('base64url')
    await admin.query('CREATE USER ?@? IDENTIFIED BY ?', [user, '%', password])
    try {
      const url = new URL(database.url)
      url.username = user
      url.password = password
      // An empty database and no CREATE privilege: the first worker can't make the tables.
      const empty = await createTestDatabase()
      try {
        await admin.query(`GRANT SELECT ON \`${empty.name}\`.* TO ?@?`, [user, '%'])
        url.pathname = '/' + empty.name
        const server = startServerProcess({ WORKERS: '2', PORT: '0', HOST: '127.0.0.1', DATABASE_URL: url.toString(), SESSION_SECRET: TEST_SECRET })
        expect(await server.exited).toBe(EXIT_CODES.missingPrivilege)
        expect(server.output().match(/lacks a privilege/g)).toHaveLength(1)
        expect(server.output()).not.toContain('starting another')
      } finally {
        await empty.drop()
      }
    } finally {
      await admin.query('DROP USER IF EXISTS ?@?', [user, '%'])
      await admin.end()
    }
  })
})
