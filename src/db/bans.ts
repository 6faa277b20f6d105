import type { RowDataPacket } from 'mysql2'
import type { Database } from './pool.js'

export interface Ban {
  target: string
  /** Seconds until it ends, or null for a ban without end. */
  remainingSeconds: number | null
  reason: string
}

/**
 * jenChat_Bans, the one InnoDB table (a ban outlives a database restart). Expiry is compared with
 * the database server's clock, like every other time in the chat.
 */
export function createBansRepository (db: Database) {
  const ACTIVE = '(Expires IS NULL OR Expires > NOW(3))'
  const COLUMNS = `Target AS target, Reason AS reason,
    IF(Expires IS NULL, NULL, CEIL(TIMESTAMPDIFF(MICROSECOND, NOW(3), Expires) / 1000000)) AS remainingSeconds`
  type BanRow = RowDataPacket & { target: string, reason: string, remainingSeconds: number | string | null }
  const toBan = (row: BanRow): Ban => ({
    target: row.target,
    reason: row.reason,
    remainingSeconds: row.remainingSeconds === null ? null : Number(row.remainingSeconds)
  })

  return {
    /** The active ban on this handle or address that lasts longest, or null (the login's check). */
    async find (handle: string, address: string): Promise<Ban | null> {
      const rows = await db.rows<BanRow>(
        `SELECT ${COLUMNS} FROM jenChat_Bans WHERE Target IN (?, ?) AND ${ACTIVE}
          ORDER BY Expires IS NULL DESC, Expires DESC LIMIT 1`,
        [handle, address]
      )
      return rows[0] === undefined ? null : toBan(rows[0])
    },

    /** Bans a handle or address for `minutes` (null: until unbanned); replaces an earlier ban of it. */
    async add (target: string, minutes: number | null, reason: string): Promise<void> {
      await db.write('DELETE FROM jenChat_Bans WHERE Target = ?', [target])
      await db.write(
        'INSERT INTO jenChat_Bans (Target, Created, Expires, Reason) VALUES (?, NOW(3), IF(? IS NULL, NULL, NOW(3) + INTERVAL ? MINUTE), ?)',
        [target, minutes, minutes, reason]
      )
    },

    /** Lifts the bans of a handle or address; returns how many active ones there were. */
    async remove (target: string): Promise<number> {
      const active = await db.rows<RowDataPacket & { n: number | string }>(
        `SELECT COUNT(*) AS n FROM jenChat_Bans WHERE Target = ? AND ${ACTIVE}`, [target]
      )
      await db.write('DELETE FROM jenChat_Bans WHERE Target = ?', [target])
      return Number(active[0]?.n ?? 0)
    },

    async active (): Promise<Ban[]> {
      const rows = await db.rows<BanRow>(`SELECT ${COLUMNS} FROM jenChat_Bans WHERE ${ACTIVE} ORDER BY Created, BanID`)
      return rows.map(toBan)
    },

    /** Expired bans are only history: the CLI drops them whenever it writes. */
    async collectExpired (): Promise<number> {
      const result = await db.write('DELETE FROM jenChat_Bans WHERE Expires IS NOT NULL AND Expires <= NOW(3)')
      return result.affectedRows
    }
  }
}

export type BansRepository = ReturnType<typeof createBansRepository>
