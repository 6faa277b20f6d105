import { randomBytes } from 'node:crypto'
import type { RowDataPacket } from 'mysql2'
import type { Database, QueryOptions } from './pool.js'

/** jenChat_Epoch: tells whether the MEMORY tables are still the ones this process knew. */
export function createEpochRepository (db: Database) {
  return {
    /** The current token, created by whoever first finds the table empty. */
    async current (options: QueryOptions = {}): Promise<string> {
      await db.write('INSERT IGNORE INTO jenChat_Epoch (EpochID, Token) VALUES (1, ?)', [randomBytes(16).toString('base64url')], options)
      const rows = await db.rows<RowDataPacket & { token: string }>('SELECT Token AS token FROM jenChat_Epoch WHERE EpochID = 1', [], options)
      return rows[0]?.token ?? ''
    }
  }
}

export type EpochRepository = ReturnType<typeof createEpochRepository>
