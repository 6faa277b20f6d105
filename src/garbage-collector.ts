import type { MessagesRepository } from './db/messages.js'
import type { SessionsRepository } from './db/sessions.js'
import type { UsersRepository } from './db/users.js'

export interface GarbageCollectorOptions {
  /** Messages and idle participants older than this are removed. */
  lifetimeMs: number
  /** A post starts a collection only if the last one in this process started this long ago. */
  minIntervalMs: number
  /**
   * How often a collection also looks for sessions whose participant is gone. Those are rare (a
   * participant's sessions go in the statement that removes the participant), and the search reads
   * the whole session table (≈ 4 ms at 12,000 sessions, while it locks both tables), so not every
   * second; and at once when a table is full.
   */
  orphanSweepIntervalMs: number
}

/**
 * The original's garbage collection "on each post": old messages, idle participants and (ours)
 * expired sessions and those of participants who are gone. The original's timestamps had
 * one-second resolution, so a second collection within the same second finds almost nothing; in a
 * busy room (hundreds of posts a second) it tripled the statements per post. A post therefore
 * collects when the last collection of this process started at least `minIntervalMs` ago, and
 * waits for it; posts in between go straight on.
 */
export function createGarbageCollector (
  repositories: { messages: MessagesRepository, users: UsersRepository, sessions: SessionsRepository },
  options: GarbageCollectorOptions
) {
  const { messages, users, sessions } = repositories
  let lastStarted = Number.NEGATIVE_INFINITY
  let lastSwept = Number.NEGATIVE_INFINITY
  let sweepDue = false
  let running: Promise<void> | null = null

  async function collect (now: number): Promise<void> {
    const sweep = sweepDue || now - lastSwept >= options.orphanSweepIntervalMs
    if (sweep) {
      lastSwept = now
      sweepDue = false
    }
    // Three independent deletes, side by side.
    await Promise.all([
      messages.collectOld(options.lifetimeMs),
      users.collectIdle(options.lifetimeMs),
      sweep ? sessions.collectEnded() : sessions.collectExpired()
    ])
  }

  return {
    /**
     * The next post collects whatever the interval says, sessions of gone participants included:
     * a table filled up and needs room now.
     */
    collectOnNextPost (): void {
      lastStarted = Number.NEGATIVE_INFINITY
      sweepDue = true
    },

    /** Called on each post; resolves when a collection it started (if any) is done. */
    async onPost (): Promise<void> {
      if (running !== null) return
      const now = performance.now()
      if (now - lastStarted < options.minIntervalMs) return
      lastStarted = now
      running = collect(now).finally(() => { running = null })
      try {
        await running
      } catch (error) {
        // Failed: the next post tries again instead of waiting out the interval.
        lastStarted = Number.NEGATIVE_INFINITY
        sweepDue = true
        throw error
      }
    }
  }
}

export type GarbageCollector = ReturnType<typeof createGarbageCollector>
