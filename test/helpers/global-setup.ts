import { adminConnection, TEST_DATABASE_PREFIX, TEST_SERVER_URL } from './database.js'

/**
 * Checks once that the test database server answers, and removes databases that an interrupted
 * earlier run left behind (only ours, by prefix, and only if older than an hour).
 */
export default async function setup (): Promise<void> {
  let admin
  try {
    admin = await adminConnection()
  } catch (error) {
    throw new Error(`The tests need MySQL/MariaDB at ${TEST_SERVER_URL} (set TEST_DATABASE_URL): ${(error as Error).message}`)
  }
  const [rows] = await admin.query(
    `SELECT s.SCHEMA_NAME AS name FROM information_schema.SCHEMATA s
      WHERE s.SCHEMA_NAME LIKE ? AND NOT EXISTS (
        SELECT 1 FROM information_schema.TABLES t
         WHERE t.TABLE_SCHEMA = s.SCHEMA_NAME AND t.CREATE_TIME > NOW() - INTERVAL 1 HOUR)`,
    [TEST_DATABASE_PREFIX.replace(/_/g, '\\_') + '%']
  )
  for (const { name } of rows as Array<{ name: string }>) {
    await admin.query(`DROP DATABASE IF EXISTS \`${name}\``)
  }
  await admin.end()
}
