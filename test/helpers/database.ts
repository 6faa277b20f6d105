import { randomBytes } from 'node:crypto'
import mysql from 'mysql2/promise'

/** The server the tests use; a database of their own is created on it for each test file. */
export const TEST_SERVER_URL = process.env.TEST_DATABASE_URL ?? 'mysql://root@127.0.0.1:3306/test'
export const TEST_DATABASE_PREFIX = 'jenchat_test_'

export function adminConnection () {
  const url = new URL(TEST_SERVER_URL)
  return mysql.createConnection({
    host: url.hostname,
    port: url.port === '' ? 3306 : Number(url.port),
    user: decodeURIComponent(url.username),
    password: decodeURIComponent(url.password)
  })
}

export interface TestDatabase {
  url: string
  name: string
  /** Runs SQL against the test database directly (e.g. to look behind the app's back). */
  query<T = unknown>(sql: string, params?: unknown[]): Promise<T>
  /** Empties the chat's tables, so the next test starts from an empty room. */
  clear(): Promise<void>
  drop(): Promise<void>
}

/**
 * A test database's name says when it was made (base-36 milliseconds), so that a later run can
 * tell an abandoned one from one that a test run going on right now has just created.
 */
export function testDatabaseName (createdAt: number = Date.now()): string {
  return `${TEST_DATABASE_PREFIX}${createdAt.toString(36)}_${randomBytes(4).toString('hex')}`
}

/** When the database of that name was made, or null for a name of another form. */
export function testDatabaseCreatedAt (name: string): number | null {
  const match = /^jenchat_test_([0-9a-z]{1,11})_[0-9a-f]{8}$/.exec(name)
  return match === null ? null : parseInt(match[1] as string, 36)
}

/** A fresh, empty database with a unique name; drop() removes it. */
export async function createTestDatabase (): Promise<TestDatabase> {
  const name = testDatabaseName()
  const admin = await adminConnection()
  await admin.query(`CREATE DATABASE \`${name}\``)
  const url = new URL(TEST_SERVER_URL)
  url.pathname = '/' + name
  const database: TestDatabase = {
    url: url.toString(),
    name,
    async query<T>(sql: string, params: unknown[] = []): Promise<T> {
      await admin.query(`USE \`${name}\``)
      const [rows] = await admin.query(sql, params)
      return rows as T
    },
    async clear () {
      for (const table of ['jenChat_Messages', 'jenChat_Users', 'jenChat_Sessions']) {
        await database.query(`DELETE FROM ${table}`)
      }
    },
    async drop () {
      await admin.query(`DROP DATABASE IF EXISTS \`${name}\``)
      await admin.end()
    }
  }
  return database
}
