import type { FastifyBaseLogger } from 'fastify'
import type { EpochRepository } from '../db/epoch.js'
import type { MessagesRepository, StoredMessage } from '../db/messages.js'
import type { Database } from '../db/pool.js'
import type { UsersRepository } from '../db/users.js'
import { coalesce } from './coalesce.js'
import { createMessageFeed, type Delivery, type MessageFeedOptions } from './message-feed.js'
import { createPresenceBatch } from './presence-batch.js'
import { createRestartDetector } from './restart-detector.js'

export type { Delivery } from './message-feed.js'

export interface RoomOptions extends MessageFeedOptions {
  /** Presence is written to the database once per poll interval, for everyone at once. */
  pollIntervalMs: number
  /** How often new messages are fetched from the database. */
  refreshMs: number
  /** How long a participant known to be gone is remembered (longer than any session cache). */
  goneMemoryMs: number
}

/**
 * This process's view of the chat room, shared by all of its polls, made of three parts:
 * - the message feed (message-feed.ts): recent messages and the answers shared by pollers;
 * - the presence batch (presence-batch.ts): who polled, written once per interval, and who is gone;
 * - the restart detector (restart-detector.ts): notices that the database lost its MEMORY tables.
 *
 * The original ran two queries and a session write per poll. Here a poll is answered from memory:
 * one coalesced query per `refreshMs` fetches new messages for every poller of the process, and one
 * UPDATE per `pollIntervalMs` marks everybody who polled as present.
 */
export function createRoom (
  deps: {
    db: Database
    epochs: EpochRepository
    messages: MessagesRepository
    users: UsersRepository
    renderMessage: (message: StoredMessage) => string
    /** Told who was found gone before any poll learns it (a moderator's kick has a reason to show). */
    learnWhyGone?: (userIds: number[]) => Promise<void>
    onDatabaseReset: () => void
    log: FastifyBaseLogger
  },
  options: RoomOptions
) {
  const { db, messages, log } = deps
  const feed = createMessageFeed(deps.renderMessage, options)
  const presence = createPresenceBatch({ users: deps.users, learnWhyGone: deps.learnWhyGone }, options)
  const restarts = createRestartDetector({ db, epochs: deps.epochs, log }, () => {
    feed.reset()
    presence.reset()
    deps.onDatabaseReset()
  })
  let loaded = false
  let healthy = true

  // Back from an outage: record everyone who kept polling before a post's garbage collection could
  // mistake them for idle.
  db.onRecovery(() => { presence.flush().catch(() => undefined) })

  async function fetchNewMessages (): Promise<void> {
    try {
      await restarts.check()
      feed.addFetched(await messages.after(feed.lastId, { probe: true }))
      loaded = true
      if (!healthy) log.info('database reachable again')
      healthy = true
    } catch (error) {
      restarts.lookAgain()
      if (healthy) log.error({ err: error }, 'cannot fetch messages from the database')
      healthy = false
      throw error
    }
  }

  const fetches = coalesce(fetchNewMessages)
  let refreshTimer: NodeJS.Timeout | undefined
  let presenceTimer: NodeJS.Timeout | undefined

  return {
    /** Loads the recent messages, then keeps them fresh in the background. */
    async start (): Promise<void> {
      await fetches.run()
      refreshTimer = setInterval(() => { if (!fetches.busy) fetches.run().catch(() => undefined) }, options.refreshMs)
      presenceTimer = setInterval(() => {
        presence.flush().catch((error: unknown) => log.error({ err: error }, 'cannot record presence'))
      }, options.pollIntervalMs)
      refreshTimer.unref()
      presenceTimer.unref()
    },

    async stop (): Promise<void> {
      clearInterval(refreshTimer)
      clearInterval(presenceTimer)
      await presence.flush().catch(() => undefined)
      await fetches.settled()
    },

    /** Fetches new messages now (coalesced with any fetch in flight: see coalesce.ts). */
    refresh: fetches.run,
    flushPresence: presence.flush,

    /** See message-feed.ts. */
    messagesAfter: (cursor: number): Delivery | null => feed.messagesAfter(cursor),
    cachedAnswers: feed.cachedAnswers,
    onPublish: feed.onPublish,

    /**
     * A message this process just stored joins the feed at once when nothing can be missing before
     * it; false: the caller refreshes from the database (see message-feed.ts addPosted).
     */
    addPosted (message: StoredMessage): boolean {
      return loaded && healthy && feed.addPosted(message)
    },

    /** The newest MessageID this process has seen: where a newcomer's delivery starts. */
    get lastId (): number { return feed.lastId },

    markPresent: presence.markPresent,
    markGone: presence.markGone,
    isGone: presence.isGone,

    /** False while the last attempt to reach the database failed. */
    get healthy (): boolean { return healthy && loaded }
  }
}

export type Room = ReturnType<typeof createRoom>
