import type { FastifyBaseLogger } from 'fastify'
import type { EpochRepository } from '../db/epoch.js'
import type { Database } from '../db/pool.js'

/**
 * MEMORY tables are empty after a database restart and AUTO_INCREMENT starts again at 1, so every
 * cursor and cached id of this process would be wrong. The database's epoch row (db/epoch.ts)
 * tells: it changes when the tables were lost. A new connection is the moment to look, so the
 * check costs a query only after the pool (re)connected.
 */
export function createRestartDetector (
  deps: { db: Database, epochs: EpochRepository, log: FastifyBaseLogger },
  onReset: () => void
) {
  let epoch: string | undefined
  let checkDue = true
  deps.db.onConnection(() => { checkDue = true })

  return {
    /** Looks, if a new connection was made since the last look; calls onReset when the tables were lost. */
    async check (): Promise<void> {
      if (!checkDue) return
      checkDue = false
      const current = await deps.epochs.current({ probe: true })
      if (epoch !== undefined && current !== epoch) {
        deps.log.warn('the database lost its MEMORY tables (restart?): forgetting cached messages and sessions')
        onReset()
      }
      epoch = current
    },

    /** A failed fetch may have hidden a restart: look again next time. */
    lookAgain (): void { checkDue = true }
  }
}

export type RestartDetector = ReturnType<typeof createRestartDetector>
