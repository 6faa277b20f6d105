import type { RowDataPacket } from 'mysql2'
import type { Database, QueryOptions } from './pool.js'

export interface StoredMessage {
  id: number
  name: string
  text: string
}

/**
 * The author name of an announcement (`npm run chat -- say`): no handle can be "*" (the login
 * allows letters, digits, "-" and "_"), so no participant's message can pass for one.
 */
export const ANNOUNCEMENT_AUTHOR = '*'

export interface PostingHistory {
  /** Whether the author is still a participant. */
  present: boolean
  inBurstWindow: number
  inSustainedWindow: number
  lastText: string | null
}

/** Flood control: a participant may have at most this many messages stored within each window. */
export interface FloodLimits {
  burstCount: number
  burstWindowMs: number
  sustainedCount: number
  sustainedWindowMs: number
}

/** jenChat_Messages: what was said in the last MESSAGE_LIFETIME_MS. */
export function createMessagesRepository (db: Database) {
  return {
    /**
     * Stores a message with its author's current name, if the author is still a participant
     * (so a collected participant can't post into the void), is within both flood limits, and
     * didn't just send the same text. One statement: a MEMORY table is locked for the whole
     * INSERT … SELECT, so parallel posts of one participant (two tabs, two app processes) are
     * checked one after another and at most the limit is stored. Returns the MessageID, or null
     * when the message was refused (postingHistory tells why).
     */
    async post (userId: number, text: string, limits: FloodLimits): Promise<number | null> {
      const result = await db.write(
        `INSERT INTO jenChat_Messages (UserID, Posted, Message, UserName)
         SELECT u.UserID, NOW(3), ?, u.UserName
           FROM jenChat_Users u,
                (SELECT COALESCE(SUM(Posted > NOW(3) - INTERVAL ? MICROSECOND), 0) AS burst,
                        COALESCE(SUM(Posted > NOW(3) - INTERVAL ? MICROSECOND), 0) AS sustained
                   FROM jenChat_Messages WHERE UserID = ?) history
          WHERE u.UserID = ? AND history.burst < ? AND history.sustained < ?
            AND NOT EXISTS (SELECT 1 FROM jenChat_Messages last
                             WHERE last.MessageID = (SELECT MAX(MessageID) FROM jenChat_Messages WHERE UserID = ?)
                               AND CAST(last.Message AS BINARY) = CAST(? AS BINARY))`,
        // Compared as bytes: the column's collation would call "Hi" and "hi" the same message.
        [text, limits.burstWindowMs * 1000, limits.sustainedWindowMs * 1000, userId,
          userId, limits.burstCount, limits.sustainedCount, userId, text]
      )
      return result.affectedRows === 1 ? result.insertId : null
    },

    /**
     * An announcement: a row like any message (UserID 0, author "*"), so it takes its place in the
     * cursor's order and every process delivers it exactly once.
     */
    async announce (text: string): Promise<number> {
      const result = await db.write(
        'INSERT INTO jenChat_Messages (UserID, Posted, Message, UserName) VALUES (0, NOW(3), ?, ?)',
        [text, ANNOUNCEMENT_AUTHOR]
      )
      return result.insertId
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

    /** Why post() refused a message: what flood control knows about one participant. */
    async postingHistory (userId: number, burstWindowMs: number, sustainedWindowMs: number): Promise<PostingHistory> {
      const rows = await db.rows<RowDataPacket & { present: number, burst: string | null, sustained: string | null, lastText: string | null }>(
        `SELECT EXISTS (SELECT 1 FROM jenChat_Users WHERE UserID = ?) AS present,
                SUM(Posted > NOW(3) - INTERVAL ? MICROSECOND) AS burst,
                SUM(Posted > NOW(3) - INTERVAL ? MICROSECOND) AS sustained,
                (SELECT Message FROM jenChat_Messages WHERE UserID = ? ORDER BY MessageID DESC LIMIT 1) AS lastText
           FROM jenChat_Messages WHERE UserID = ?`,
        [userId, burstWindowMs * 1000, sustainedWindowMs * 1000, userId, userId]
      )
      const row = rows[0]
      return {
        present: Number(row?.present ?? 0) === 1,
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
