import { adminConnection, TEST_DATABASE_PREFIX, TEST_SERVER_URL, testDatabaseCreatedAt } from './database.js'

const ABANDONED_AFTER_MS = 60 * 60 * 1000

/**
 * Checks once that the test database server answers, and removes databases that an interrupted
 * earlier run left behind: only ours, by prefix, and only those made more than an hour ago. The age
 * is read from the name, not from the tables in it: a database that another run (in another
 * checkout, at the same time) has just created has no tables yet and must not be taken.
 */
export default async function setup (): Promise<void> {
  let admin
  try {
    admin = await adminConnection()
  } catch (error) {
    throw new Error(`The tests need MySQL/MariaDB at ${TEST_SERVER_URL} (set TEST_DATABASE_URL): ${(error as Error).message}`)
  }
  const [rows] = await admin.query('SHOW DATABASES LIKE ?', [TEST_DATABASE_PREFIX.replace(/_/g, '\\_') + '%'])
  const cutoff = Date.now() - ABANDONED_AFTER_MS
  for (const row of rows as Array<Record<string, string>>) {
    const name = Object.values(row)[0] as string
    const createdAt = testDatabaseCreatedAt(name)
    // A name without a time may belong to a run of an older checkout going on now: left alone.
    if (createdAt !== null && createdAt < cutoff) await admin.query(`DROP DATABASE IF EXISTS \`${name}\``)
  }
  await admin.end()
}
