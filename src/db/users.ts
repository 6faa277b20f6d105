import type { RowDataPacket } from 'mysql2'
import type { Database } from './pool.js'

export interface PresentParticipant {
  id: number
  handle: string
  joined: Date
  address: string
}

/** jenChat_Users: one row per participant currently in the room. */
export function createUsersRepository (db: Database) {
  return {
    /**
     * Adds a participant unless someone with the same handle (case-insensitive, by the column's
     * collation) polled within the presence window. One statement, so two people racing for a
     * handle can't both get it. Returns the new UserID, or null when the handle is taken.
     * `address` is the client's, for the moderation CLI (`who`, `ban` by address).
     */
    async claimHandle (name: string, presenceWindowMs: number, address = ''): Promise<number | null> {
      // The handle's previous owner left: they and their sessions go.
      await db.write(
        `DELETE u, s FROM jenChat_Users u LEFT JOIN jenChat_Sessions s ON s.UserID = u.UserID
          WHERE u.UserName = ? AND u.LastUpdate <= NOW(3) - INTERVAL ? MICROSECOND`,
        [name, presenceWindowMs * 1000]
      )
      const result = await db.write(
        `INSERT INTO jenChat_Users (UserName, LastUpdate, Joined, Address)
         SELECT ?, NOW(3), NOW(3), ? FROM DUAL
          WHERE NOT EXISTS (SELECT 1 FROM jenChat_Users
                             WHERE UserName = ? AND LastUpdate > NOW(3) - INTERVAL ? MICROSECOND)`,
        [name, address, name, presenceWindowMs * 1000]
      )
      return result.affectedRows === 1 ? result.insertId : null
    },

    /** Marks participants as present now. Returns how many of them still exist. */
    async markPresent (userIds: readonly number[]): Promise<number> {
      if (userIds.length === 0) return 0
      const result = await db.write('UPDATE jenChat_Users SET LastUpdate = NOW(3) WHERE UserID IN (?)', [userIds])
      return result.affectedRows
    },

    /** The subset of `userIds` that still exist. */
    async existing (userIds: readonly number[]): Promise<Set<number>> {
      if (userIds.length === 0) return new Set()
      const rows = await db.rows<RowDataPacket & { id: number }>(
        'SELECT UserID AS id FROM jenChat_Users WHERE UserID IN (?)', [userIds]
      )
      return new Set(rows.map((row) => row.id))
    },

    /** Milliseconds since the participant last polled, or null if they are not in the room. */
    async idleMs (userId: number): Promise<number | null> {
      const rows = await db.rows<RowDataPacket & { idleUs: number | string }>(
        'SELECT TIMESTAMPDIFF(MICROSECOND, LastUpdate, NOW(3)) AS idleUs FROM jenChat_Users WHERE UserID = ?',
        [userId]
      )
      const row = rows[0]
      return row === undefined ? null : Number(row.idleUs) / 1000
    },

    /** Ends a participant (logout, a new login in the same browser); the caller ends the session. */
    async remove (userId: number): Promise<void> {
      await db.write('DELETE FROM jenChat_Users WHERE UserID = ?', [userId])
    },

    /** Who polled within the window, longest present first (the moderation CLI's `who`). */
    async present (presenceWindowMs: number): Promise<PresentParticipant[]> {
      const rows = await db.rows<RowDataPacket & { id: number, handle: string, joined: string, address: string }>(
        `SELECT UserID AS id, UserName AS handle, UNIX_TIMESTAMP(Joined) AS joined, Address AS address
           FROM jenChat_Users WHERE LastUpdate > NOW(3) - INTERVAL ? MICROSECOND ORDER BY Joined, UserID`,
        [presenceWindowMs * 1000]
      )
      return rows.map((row) => ({ id: row.id, handle: row.handle, joined: new Date(Number(row.joined) * 1000), address: row.address }))
    },

    /** How many polled within the window (metrics; a probe, so it tells whether the database answers). */
    async countPresent (presenceWindowMs: number): Promise<number> {
      const rows = await db.rows<RowDataPacket & { n: number | string }>(
        'SELECT COUNT(*) AS n FROM jenChat_Users WHERE LastUpdate > NOW(3) - INTERVAL ? MICROSECOND',
        [presenceWindowMs * 1000], { probe: true }
      )
      return Number(rows[0]?.n ?? 0)
    },

    /** Participants (present or not yet collected) with this handle (case-insensitive, by the column's collation). */
    async withHandle (handle: string): Promise<number[]> {
      const rows = await db.rows<RowDataPacket & { id: number }>('SELECT UserID AS id FROM jenChat_Users WHERE UserName = ?', [handle])
      return rows.map((row) => row.id)
    },

    /** Participants who logged in from this address. */
    async fromAddress (address: string): Promise<number[]> {
      const rows = await db.rows<RowDataPacket & { id: number }>('SELECT UserID AS id FROM jenChat_Users WHERE Address = ?', [address])
      return rows.map((row) => row.id)
    },

    /** Garbage collection: participants whose browser stopped polling, with their sessions. */
    async collectIdle (idleMs: number): Promise<number> {
      const result = await db.write(
        `DELETE u, s FROM jenChat_Users u LEFT JOIN jenChat_Sessions s ON s.UserID = u.UserID
          WHERE u.LastUpdate <= NOW(3) - INTERVAL ? MICROSECOND`,
        [idleMs * 1000]
      )
      return result.affectedRows
    }
  }
}

export type UsersRepository = ReturnType<typeof createUsersRepository>
