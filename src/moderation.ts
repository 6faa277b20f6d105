import type { BansRepository } from './db/bans.js'
import type { KicksRepository } from './db/kicks.js'
import type { MessagesRepository } from './db/messages.js'
import type { UsersRepository } from './db/users.js'

/** A ban's target: a handle or a client address (they can't be confused: handles have no "." or ":"). */
export type Target = { kind: 'handle', value: string } | { kind: 'address', value: string }

/**
 * What a moderator can do (the CLI's commands), through the database only: every app process
 * applies it on its own, within a poll interval, and no server needs to be running.
 */
export function createModeration (
  deps: { users: UsersRepository, kicks: KicksRepository, bans: BansRepository, messages: MessagesRepository },
  options: { presenceWindowMs: number, messageLifetimeMs: number }
) {
  const { users, kicks, bans, messages } = deps

  async function kickIds (ids: number[], reason: string): Promise<number> {
    await kicks.collectOld(options.messageLifetimeMs)
    return await kicks.kick(ids, reason)
  }

  return {
    async who () {
      return await users.present(options.presenceWindowMs)
    },

    /** Removes every participant with that handle; returns how many there were (0: unknown handle). */
    async kick (handle: string, reason: string): Promise<number> {
      return await kickIds(await users.withHandle(handle), reason)
    },

    /** Bans and removes whoever is in the room under that handle or from that address. */
    async ban (target: Target, minutes: number | null, reason: string): Promise<{ kicked: number }> {
      await bans.collectExpired()
      await bans.add(target.value, minutes, reason)
      const ids = target.kind === 'handle' ? await users.withHandle(target.value) : await users.fromAddress(target.value)
      const why = `banned${minutes === null ? '' : ` for ${minutes} minute(s)`}${reason === '' ? '' : `: ${reason}`}`
      return { kicked: await kickIds(ids, why) }
    },

    /** Lifts the ban; returns how many active bans there were on it (0: none). */
    async unban (target: Target): Promise<number> {
      return await bans.remove(target.value)
    },

    async bans () {
      return await bans.active()
    },

    async say (text: string): Promise<number> {
      return await messages.announce(text)
    }
  }
}

export type Moderation = ReturnType<typeof createModeration>
