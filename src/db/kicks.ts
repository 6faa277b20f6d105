import type { RowDataPacket } from 'mysql2'
import type { Database } from './pool.js'

/**
 * jenChat_Kicks: why a moderator removed a participant. A kick is "the reason, then the row gone",
 * so any process that finds the participant's row gone can tell a kick from a logout.
 */
export function createKicksRepository (db: Database) {
  return {
    /** Records the reason and removes the participants, in that order (see above). Returns how many were removed. */
    async kick (userIds: readonly number[], reason: string): Promise<number> {
      if (userIds.length === 0) return 0
      await db.write(
        'REPLACE INTO jenChat_Kicks (UserID, Kicked, Reason) SELECT UserID, NOW(3), ? FROM jenChat_Users WHERE UserID IN (?)',
        [reason, userIds]
      )
      const removed = await db.write('DELETE FROM jenChat_Users WHERE UserID IN (?)', [userIds])
      return removed.affectedRows
    },

    /** The kick reasons of those of `userIds` that were kicked. */
    async reasons (userIds: readonly number[]): Promise<Map<number, string>> {
      if (userIds.length === 0) return new Map()
      const rows = await db.rows<RowDataPacket & { id: number, reason: string }>(
        'SELECT UserID AS id, Reason AS reason FROM jenChat_Kicks WHERE UserID IN (?)', [userIds]
      )
      return new Map(rows.map((row) => [row.id, row.reason]))
    },

    /** Kicks older than this: the kicked participant's window learned of them long ago (the CLI collects them). */
    async collectOld (lifetimeMs: number): Promise<number> {
      const result = await db.write('DELETE FROM jenChat_Kicks WHERE Kicked <= NOW(3) - INTERVAL ? MICROSECOND', [lifetimeMs * 1000])
      return result.affectedRows
    }
  }
}

export type KicksRepository = ReturnType<typeof createKicksRepository>
