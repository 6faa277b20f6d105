import type { UsersRepository } from '../db/users.js'

export interface PresenceBatchOptions {
  /** How long a participant known to be gone is remembered (longer than any session cache). */
  goneMemoryMs: number
}

/**
 * Who polled since the last batch, written to the database for everyone at once (one UPDATE per
 * poll interval instead of one per poll), and who is known to be gone (logged out, collected or
 * kicked), so their next poll or post ends the session without a query.
 */
export function createPresenceBatch (
  deps: {
    users: UsersRepository
    /** Told who was found gone before any poll learns it (a moderator's kick has a reason to show). */
    learnWhyGone?: (userIds: number[]) => Promise<void>
  },
  options: PresenceBatchOptions
) {
  const { users } = deps
  // Bumped when the database lost its tables: UserIDs start again at 1 then, so a batch taken
  // before must not mark the new participants who got those ids as gone.
  let generation = 0
  const present = new Set<number>()
  const gone = new Map<number, number>()

  function forgetOldGone (): void {
    const forgetBefore = performance.now() - options.goneMemoryMs
    // Insertion order is time order: stop at the first one still remembered.
    for (const [id, since] of gone) {
      if (since >= forgetBefore) break
      gone.delete(id)
    }
  }

  return {
    /** Records a poll; the participant's LastUpdate is written with the next batch. */
    markPresent (userId: number): void {
      present.add(userId)
    },

    /** Learned from the database (logout, garbage collection) or from this process's own logout. */
    markGone (userId: number): void {
      gone.set(userId, performance.now())
      present.delete(userId)
    },

    isGone (userId: number): boolean {
      return gone.has(userId)
    },

    /**
     * Writes the batch. Participants the UPDATE did not find are gone: remembered as such, so their
     * next request ends their session. On failure the batch is kept for the next attempt (a
     * participant has 30 s before garbage collection).
     */
    async flush (): Promise<void> {
      if (present.size === 0) return
      const ids = [...present]
      const takenIn = generation
      present.clear()
      try {
        const matched = await users.markPresent(ids)
        if (matched < ids.length) {
          const alive = await users.existing(ids)
          const missing = ids.filter((id) => !alive.has(id))
          await deps.learnWhyGone?.(missing)
          const now = performance.now()
          if (generation === takenIn) for (const id of missing) gone.set(id, now)
        }
      } catch (error) {
        if (generation === takenIn) for (const id of ids) present.add(id)
        throw error
      }
      forgetOldGone()
    },

    /** The database lost its tables: every id known so far means someone else now. */
    reset (): void {
      present.clear()
      gone.clear()
      generation++
    }
  }
}

export type PresenceBatch = ReturnType<typeof createPresenceBatch>
