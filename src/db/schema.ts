import { readFile } from 'node:fs/promises'
import type { Database } from './pool.js'

const SCHEMA_FILE = new URL('../../../sql/schema.sql', import.meta.url)
const SCHEMA_FILE_FROM_SOURCE = new URL('../../sql/schema.sql', import.meta.url)

async function readSchema (): Promise<string> {
  // The same module runs from src/ (tests) and from dist/src/ (npm start).
  try {
    return await readFile(SCHEMA_FILE_FROM_SOURCE, 'utf8')
  } catch {
    return await readFile(SCHEMA_FILE, 'utf8')
  }
}

function statements (sqlText: string): string[] {
  return sqlText
    .split('\n')
    .filter((line) => !line.trimStart().startsWith('--'))
    .join('\n')
    .split(';')
    .map((statement) => statement.trim())
    .filter((statement) => statement.length > 0)
}

/**
 * Asks the table itself rather than information_schema: MariaDB 10.11 was seen to crash (signal
 * 11 while dropping the temporary table behind an information_schema.COLUMNS query) when such
 * queries ran while other databases were being dropped.
 */
async function hasUserNameColumn (db: Database): Promise<boolean> {
  try {
    await db.rows('SELECT UserName FROM jenChat_Messages LIMIT 0')
    return true
  } catch (error) {
    if ((error as { code?: string }).code === 'ER_BAD_FIELD_ERROR') return false
    throw error
  }
}

/**
 * Creates the tables when missing and upgrades a database made by the PHP original: its
 * jenChat_Messages has no UserName column, which the port needs so that messages outlive their
 * author. Safe to run on every start and from several processes at once.
 */
export async function applySchema (db: Database): Promise<void> {
  for (const statement of statements(await readSchema())) {
    await db.write(statement)
  }
  if (!(await hasUserNameColumn(db))) {
    try {
      await db.write("ALTER TABLE jenChat_Messages ADD COLUMN UserName varchar(20) CHARACTER SET ascii NOT NULL DEFAULT ''")
    } catch (error) {
      // Another process added it first.
      if ((error as { code?: string }).code !== 'ER_DUP_FIELDNAME') throw error
    }
  }
}
