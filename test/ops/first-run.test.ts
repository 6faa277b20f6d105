import { randomBytes } from 'node:crypto'
import { once } from 'node:events'
import { createServer } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { EXIT_CODES } from '../../src/db/first-run.js'
import { adminConnection, createTestDatabase, TEST_DATABASE_PREFIX, TEST_SERVER_URL, type TestDatabase } from '../helpers/database.js'
import { TEST_SECRET } from '../helpers/app.js'
import { startServerProcess, waitForListening } from '../helpers/server-process.js'

/*
 * `npm start` as a new operator meets it, against the real MariaDB: each way the database can be
 * wrong gets one line without a stack trace and an exit code of its own.
 */

type Admin = Awaited<ReturnType<typeof adminConnection>>
let admin: Admin
let database: TestDatabase
/** A user of this file's own, with a password and no privileges but SELECT on `database`. */
const user = 'jenchat_t_' + randomBytes(4).toString('hex')
const password = randomBytes(9).toString('base64url')

beforeAll(async () => {
  admin = await adminConnection()
  database = await createTestDatabase()
  await admin.query('CREATE USER ?@? IDENTIFIED BY ?', [user, '%', password])
  await admin.query(`GRANT SELECT ON \`${database.name}\`.* TO ?@?`, [user, '%'])
})
afterAll(async () => {
  await admin.query('DROP USER IF EXISTS ?@?', [user, '%'])
  await database.drop()
  await admin.end()
})

function urlFor (options: { user?: string, password?: string, port?: number, database: string }): string {
  const url = new URL(TEST_SERVER_URL)
  if (options.user !== undefined) url.username = options.user
  if (options.password !== undefined) url.password = options.password
  if (options.port !== undefined) url.port = String(options.port)
  url.pathname = '/' + options.database
  return url.toString()
}

/** Runs the server until it exits; returns its exit code and what it printed. */
async function startAndFail (databaseUrl: string): Promise<{ code: number | string, output: string }> {
  const server = startServerProcess({ PORT: '0', HOST: '127.0.0.1', DATABASE_URL: databaseUrl, SESSION_SECRET: TEST_SECRET })
  const code = await server.exited
  return { code, output: server.output() }
}

/** The output is one line, and not a stack trace. */
function expectOneLine (output: string): string {
  const lines = output.trim().split('\n')
  expect(lines).toHaveLength(1)
  expect(output).not.toMatch(/^\s+at /m)
  return lines[0] as string
}

async function closedPort (): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1')
  await once(server, 'listening')
  const port = (server.address() as { port: number }).port
  server.close()
  await once(server, 'close')
  return port
}

describe('the first start', () => {
  it('creates the database named in DATABASE_URL when it does not exist and the user may', async () => {
    const name = TEST_DATABASE_PREFIX + randomBytes(6).toString('hex')
    try {
      const server = startServerProcess({ PORT: '0', HOST: '127.0.0.1', DATABASE_URL: urlFor({ database: name }), SESSION_SECRET: TEST_SECRET })
      const baseUrl = await waitForListening(server)
      expect(server.output()).toContain(`created the database "${name}"`)
      expect((await fetch(`${baseUrl}/login.php`)).status).toBe(200)
      const [tables] = await admin.query(`SHOW TABLES FROM \`${name}\``)
      expect((tables as unknown[]).length).toBeGreaterThanOrEqual(4)
      server.child.kill('SIGTERM')
      expect(await server.exited).toBe(0)
    } finally {
      await admin.query(`DROP DATABASE IF EXISTS \`${name}\``)
    }
  })

  it('says what an administrator should run when the database is missing and the user may not create it', async () => {
    const missing = TEST_DATABASE_PREFIX + randomBytes(6).toString('hex')
    const { code, output } = await startAndFail(urlFor({ user, password, database: missing }))
    expect(code).toBe(EXIT_CODES.noDatabase)
    const line = expectOneLine(output)
    expect(line).toContain(`CREATE DATABASE IF NOT EXISTS \`${missing}\`; GRANT SELECT, INSERT, UPDATE, DELETE, CREATE, ALTER ON \`${missing}\`.* TO '${user}'@'%';`)
    const [rows] = await admin.query('SHOW DATABASES LIKE ?', [missing])
    expect(rows).toEqual([])
  })

  it('names the missing privilege and the GRANT for the account the server matched', async () => {
    const { code, output } = await startAndFail(urlFor({ user, password, database: database.name }))
    expect(code).toBe(EXIT_CODES.missingPrivilege)
    const line = expectOneLine(output)
    expect(line).toContain('CREATE command denied')
    expect(line).toContain(`GRANT SELECT, INSERT, UPDATE, DELETE, CREATE, ALTER ON \`${database.name}\`.* TO '${user}'@'%';`)
  })

  it('tells a refused password apart, without printing it', async () => {
    const { code, output } = await startAndFail(urlFor({ user, password: 'not-' + password, database: database.name }))
    expect(code).toBe(EXIT_CODES.loginRefused)
    const line = expectOneLine(output)
    expect(line).toMatch(/refused the login \(Access denied for user/)
    expect(line).not.toContain(password)
  })

  it('tells an unreachable database server apart', async () => {
    const port = await closedPort()
    const { code, output } = await startAndFail(urlFor({ port, database: database.name }))
    expect(code).toBe(EXIT_CODES.unreachable)
    expect(expectOneLine(output)).toBe(
      `Cannot reach the database server at 127.0.0.1:${port} (ECONNREFUSED): is MySQL/MariaDB running there, and are host and port in DATABASE_URL right?`)
  })

  it('gives each cause its own exit code', () => {
    expect(new Set(Object.values(EXIT_CODES)).size).toBe(Object.keys(EXIT_CODES).length)
  })
})
