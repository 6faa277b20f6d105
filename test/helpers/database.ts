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

/** A fresh, empty database with a unique name; drop() removes it. */
export async function createTestDatabase (): Promise<TestDatabase> {
  const name = TEST_DATABASE_PREFIX + randomBytes(6).toString('hex')
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
