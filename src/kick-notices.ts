import { createHmac, timingSafeEqual } from 'node:crypto'
import type { FastifyBaseLogger } from 'fastify'
import { LruMap } from 'toad-cache'
import type { KicksRepository } from './db/kicks.js'

/**
 * How a moderator's kick reaches the kicked participant's window, whichever process serves it:
 * the CLI writes the reason to jenChat_Kicks and deletes the participant (src/db/kicks.ts); the
 * room finds the row gone with its next presence batch and, before any poll can see the
 * participant gone, asks here, which reads the reasons from the database; the poll then sends the
 * window to the login page with the reason in its URL, signed, so that only reasons the chat gave
 * can appear on the login page (the page is reached by anyone, and reads no database).
 */
export function createKickNotices (deps: { kicks: KicksRepository, secret: string, log: FastifyBaseLogger }) {
  // Kicked participants whose windows have yet to learn it; bounded: 10,000 reasons of at most 150
  // characters, each kept 10 minutes (a window that polls learns it within seconds).
  const reasons = new LruMap<string>(10_000, 600_000)

  function sign (reason: string): string {
    return createHmac('sha256', deps.secret).update('kick\0' + reason).digest('base64url').slice(0, 22)
  }

  return {
    /** Called with participants found gone, before polls are told: remembers why, if kicked. */
    async learn (userIds: readonly number[]): Promise<void> {
      if (userIds.length === 0) return
      try {
        for (const [id, reason] of await deps.kicks.reasons(userIds)) reasons.set(id, reason)
      } catch (error) {
        // They still leave, only without the reason.
        deps.log.warn({ err: error }, 'cannot read why participants were removed')
      }
    },

    /** The kick reason of a participant this process found gone, if they were kicked. */
    reasonFor (userId: number): string | undefined {
      return reasons.get(userId)
    },

    /** The login page's URL that shows the reason. */
    loginUrl (reason: string): string {
      return `./login.php?reason=kicked&why=${encodeURIComponent(reason)}&sig=${sign(reason)}`
    },

    /** The reason from a login URL, if the chat signed it. */
    verified (why: string | undefined, signature: string | undefined): string | undefined {
      if (why === undefined || signature === undefined) return undefined
      const expected = Buffer.from(sign(why))
      const given = Buffer.from(signature)
      return expected.length === given.length && timingSafeEqual(expected, given) ? why : undefined
    }
  }
}

export type KickNotices = ReturnType<typeof createKickNotices>
