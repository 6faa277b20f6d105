import type { RowDataPacket } from 'mysql2'
import type { Database } from './pool.js'

/** jenChat_Sessions: the session store's table. Expiry uses the database server's clock. */
export function createSessionsRepository (db: Database) {
  return {
    async find (sessionId: string): Promise<string | null> {
      const rows = await db.rows<RowDataPacket & { data: string }>(
        'SELECT Data AS data FROM jenChat_Sessions WHERE SessionID = ? AND Expires > UNIX_TIMESTAMP()', [sessionId]
      )
      return rows[0]?.data ?? null
    },

    /** Creates the session with an absolute lifetime, or updates its data (the lifetime stays). */
    async save (sessionId: string, data: string, lifetimeSeconds: number): Promise<void> {
      await db.write(
        `INSERT INTO jenChat_Sessions (SessionID, Expires, Data) VALUES (?, UNIX_TIMESTAMP() + ?, ?)
         ON DUPLICATE KEY UPDATE Data = ?`,
        [sessionId, lifetimeSeconds, data, data]
      )
    },

    async remove (sessionId: string): Promise<void> {
      await db.write('DELETE FROM jenChat_Sessions WHERE SessionID = ?', [sessionId])
    },

    async collectExpired (): Promise<number> {
      const result = await db.write('DELETE FROM jenChat_Sessions WHERE Expires <= UNIX_TIMESTAMP()')
      return result.affectedRows
    }
  }
}

export type SessionsRepository = ReturnType<typeof createSessionsRepository>
