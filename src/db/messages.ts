import type { RowDataPacket } from 'mysql2'
import type { Database, QueryOptions } from './pool.js'

export interface StoredMessage {
  id: number
  name: string
  text: string
}

export interface PostingHistory {
  inBurstWindow: number
  inSustainedWindow: number
  lastText: string | null
}

/** jenChat_Messages: what was said in the last MESSAGE_LIFETIME_MS. */
export function createMessagesRepository (db: Database) {
  return {
    /**
     * Stores a message with its author's current name. Inserting through a SELECT on
     * jenChat_Users makes "the author is still a participant" part of the same statement, so a
     * collected participant can't post into the void. Returns the MessageID, or null when the
     * author is no longer in the room.
     */
    async post (userId: number, text: string): Promise<number | null> {
      const result = await db.write(
        `INSERT INTO jenChat_Messages (UserID, Posted, Message, UserName)
         SELECT UserID, NOW(3), ?, UserName FROM jenChat_Users WHERE UserID = ?`,
        [text, userId]
      )
      return result.affectedRows === 1 ? result.insertId : null
    },

    /** Messages after the cursor, oldest first. */
    async after (cursor: number, options: QueryOptions = {}): Promise<StoredMessage[]> {
      // Rows written by the PHP original have no UserName; their author's row may still tell it.
      return await db.rows<RowDataPacket & StoredMessage>(
        `SELECT m.MessageID AS id, COALESCE(NULLIF(m.UserName, ''), u.UserName, '') AS name, m.Message AS text
           FROM jenChat_Messages m LEFT JOIN jenChat_Users u ON u.UserID = m.UserID
          WHERE m.MessageID > ?
          ORDER BY m.MessageID`,
        [cursor],
        options
      )
    },

    async lastId (): Promise<number> {
      const rows = await db.rows<RowDataPacket & { id: number | null }>('SELECT MAX(MessageID) AS id FROM jenChat_Messages')
      return Number(rows[0]?.id ?? 0)
    },

    /** What flood control needs to know about one participant's recent messages. */
    async postingHistory (userId: number, burstWindowMs: number, sustainedWindowMs: number): Promise<PostingHistory> {
      const rows = await db.rows<RowDataPacket & { burst: string | null, sustained: string | null, lastText: string | null }>(
        `SELECT SUM(Posted > NOW(3) - INTERVAL ? MICROSECOND) AS burst,
                SUM(Posted > NOW(3) - INTERVAL ? MICROSECOND) AS sustained,
                (SELECT Message FROM jenChat_Messages WHERE UserID = ? ORDER BY MessageID DESC LIMIT 1) AS lastText
           FROM jenChat_Messages WHERE UserID = ?`,
        [burstWindowMs * 1000, sustainedWindowMs * 1000, userId, userId]
      )
      const row = rows[0]
      return {
        inBurstWindow: Number(row?.burst ?? 0),
        inSustainedWindow: Number(row?.sustained ?? 0),
        lastText: row?.lastText ?? null
      }
    },

    /** Garbage collection: messages everyone present has long received. */
    async collectOld (lifetimeMs: number): Promise<number> {
      const result = await db.write(
        'DELETE FROM jenChat_Messages WHERE Posted <= NOW(3) - INTERVAL ? MICROSECOND', [lifetimeMs * 1000]
      )
      return result.affectedRows
    }
  }
}

export type MessagesRepository = ReturnType<typeof createMessagesRepository>
