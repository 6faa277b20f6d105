import type { RowDataPacket } from 'mysql2'
import type { Database } from './pool.js'

/** jenChat_Sessions: the session store's table. Expiry uses the database server's clock. */
export function createSessionsRepository (db: Database) {
  return {
    /** The session's data and how long it has left to live (by the database's clock), or null. */
    async find (sessionId: string): Promise<{ data: string, remainingMs: number } | null> {
      const rows = await db.rows<RowDataPacket & { data: string, remainingMs: number | string }>(
        `SELECT Data AS data, (Expires - UNIX_TIMESTAMP(NOW(3))) * 1000 AS remainingMs
           FROM jenChat_Sessions WHERE SessionID = ? AND Expires > UNIX_TIMESTAMP(NOW(3))`, [sessionId]
      )
      const row = rows[0]
      return row === undefined ? null : { data: row.data, remainingMs: Number(row.remainingMs) }
    },

    /**
     * Creates the session of participant `userId` with an absolute lifetime, or updates its data
     * (the lifetime stays). A session without a participant (userId 0) goes with the next collection.
     */
    async save (sessionId: string, data: string, lifetimeSeconds: number, userId: number): Promise<void> {
      await db.write(
        `INSERT INTO jenChat_Sessions (SessionID, Expires, Data, UserID) VALUES (?, UNIX_TIMESTAMP() + ?, ?, ?)
         ON DUPLICATE KEY UPDATE Data = ?, UserID = ?`,
        [sessionId, lifetimeSeconds, data, userId, data, userId]
      )
    },

    async remove (sessionId: string): Promise<void> {
      await db.write('DELETE FROM jenChat_Sessions WHERE SessionID = ?', [sessionId])
    },

    /** Garbage collection: sessions past their lifetime (on the Expires index). */
    async collectExpired (): Promise<number> {
      const result = await db.write('DELETE FROM jenChat_Sessions WHERE Expires <= UNIX_TIMESTAMP()')
      return result.affectedRows
    },

    /**
     * Garbage collection: sessions past their lifetime, and sessions whose participant is gone
     * (left behind by an earlier version, or saved just after their participant was collected).
     * Reads the whole table.
     */
    async collectEnded (): Promise<number> {
      const result = await db.write(
        `DELETE s FROM jenChat_Sessions s LEFT JOIN jenChat_Users u ON u.UserID = s.UserID
          WHERE u.UserID IS NULL OR s.Expires <= UNIX_TIMESTAMP()`
      )
      return result.affectedRows
    }
  }
}

export type SessionsRepository = ReturnType<typeof createSessionsRepository>
