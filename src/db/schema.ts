import { readFile } from 'node:fs/promises'
import type { RowDataPacket } from 'mysql2/promise'
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
 * Creates the tables when missing and upgrades a database made by the PHP original: its
 * jenChat_Messages has no UserName column, which the port needs so that messages outlive their
 * author. Safe to run on every start and from several processes at once.
 */
export async function applySchema (db: Database): Promise<void> {
  for (const statement of statements(await readSchema())) {
    await db.write(statement)
  }
  const columns = await db.rows<RowDataPacket & { name: string }>(
    `SELECT COLUMN_NAME AS name FROM information_schema.COLUMNS
      WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'jenChat_Messages' AND COLUMN_NAME = 'UserName'`
  )
  if (columns.length === 0) {
    try {
      await db.write("ALTER TABLE jenChat_Messages ADD COLUMN UserName varchar(20) CHARACTER SET ascii NOT NULL DEFAULT ''")
    } catch (error) {
      // Another process added it first.
      if ((error as { code?: string }).code !== 'ER_DUP_FIELDNAME') throw error
    }
  }
}
