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
async function hasColumn (db: Database, table: string, column: string): Promise<boolean> {
  try {
    await db.rows(`SELECT ${column} FROM ${table} LIMIT 0`)
    return true
  } catch (error) {
    if ((error as { code?: string }).code === 'ER_BAD_FIELD_ERROR') return false
    throw error
  }
}

/** Runs an ALTER that adds a column, unless another process added it first. */
async function addColumn (db: Database, table: string, column: string, alter: string): Promise<boolean> {
  if (await hasColumn(db, table, column)) return false
  try {
    await db.write(alter)
    return true
  } catch (error) {
    if ((error as { code?: string }).code !== 'ER_DUP_FIELDNAME') throw error
    return false
  }
}

const MEMORY_TABLES = ['jenChat_Users', 'jenChat_Messages', 'jenChat_Sessions', 'jenChat_Epoch', 'jenChat_Kicks']

/**
 * Gives every MEMORY table the size limit of this app's connections (DB_MEMORY_TABLE_MB). A table
 * keeps the max_heap_table_size it was created with (the server's 16 MB default, if the PHP
 * original made it), and after a database restart it gets the value of whichever client opens it
 * first. ALTER … ENGINE=MEMORY applies this connection's value and keeps the rows and the
 * AUTO_INCREMENT counter. It also converts a tutorial table made in another engine: delivery in id
 * order relies on MEMORY's table lock (see sql/schema.sql).
 */
export async function resizeMemoryTables (db: Database, log: { warn: (message: string) => void }): Promise<void> {
  try {
    for (const table of MEMORY_TABLES) await db.write(`ALTER TABLE ${table} ENGINE=MEMORY`)
  } catch (error) {
    // A user without ALTER can still run the chat, with the tables' current size.
    if (!ACCESS_DENIED.has((error as { code?: string } | null)?.code ?? '')) throw error
    log.warn('cannot resize the MEMORY tables (no ALTER privilege): they keep their size; grant ALTER or set max_heap_table_size on the database server')
  }
}

const ACCESS_DENIED = new Set(['ER_TABLEACCESS_DENIED_ERROR', 'ER_DBACCESS_DENIED_ERROR', 'ER_SPECIFIC_ACCESS_DENIED_ERROR'])

/**
 * Creates the tables when missing and upgrades a database made by the PHP original (its
 * jenChat_Messages has no UserName column, which the port needs so that messages outlive their
 * author; its jenChat_Users has no Joined and Address, which the moderation CLI shows and bans by)
 * or by an earlier version of the port (its jenChat_Sessions has no UserID column). Safe to run on
 * every start and from several processes at once.
 */
export async function applySchema (db: Database, log: { warn: (message: string) => void }): Promise<void> {
  let existed = false
  for (const statement of statements(await readSchema())) {
    const result = await db.write(statement)
    // CREATE TABLE IF NOT EXISTS leaves a note when the table was there already.
    if (result.warningStatus > 0) existed = true
  }
  if (existed) await resizeMemoryTables(db, log)
  await addColumn(db, 'jenChat_Messages', 'UserName',
    "ALTER TABLE jenChat_Messages ADD COLUMN UserName varchar(20) CHARACTER SET ascii NOT NULL DEFAULT ''")
  await addColumn(db, 'jenChat_Users', 'Joined',
    'ALTER TABLE jenChat_Users ADD COLUMN Joined timestamp(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3)')
  await addColumn(db, 'jenChat_Users', 'Address',
    "ALTER TABLE jenChat_Users ADD COLUMN Address varchar(45) CHARACTER SET ascii NOT NULL DEFAULT ''")
  const sessionsUpgraded = await addColumn(db, 'jenChat_Sessions', 'UserID',
    'ALTER TABLE jenChat_Sessions ADD COLUMN UserID int unsigned NOT NULL DEFAULT 0, ADD KEY jenChat_Sessions_UserID (UserID)')
  // The sessions of people already in the room stay theirs: the participant is in the data.
  if (sessionsUpgraded) {
    await db.write(`UPDATE jenChat_Sessions SET UserID = CAST(JSON_EXTRACT(Data, '$.userId') AS UNSIGNED)
                     WHERE UserID = 0 AND JSON_VALID(Data) AND JSON_TYPE(JSON_EXTRACT(Data, '$.userId')) = 'INTEGER'`)
  }
}
