import type { FastifyBaseLogger } from 'fastify'
import { LRUCache } from 'lru-cache'
import type { EpochRepository } from './db/epoch.js'
import type { MessagesRepository, StoredMessage } from './db/messages.js'
import type { Database } from './db/pool.js'
import type { UsersRepository } from './db/users.js'

export interface RoomOptions {
  /** Presence is written to the database once per poll interval, for everyone at once. */
  pollIntervalMs: number
  /** How often new messages are fetched from the database. */
  refreshMs: number
  /** How long a fetched message is kept for slow pollers (longer than the database keeps it). */
  retentionMs: number
  /** How long a participant known to be gone is remembered (longer than any session cache). */
  goneMemoryMs: number
  /** One answer carries at most this many messages… */
  answerMaxMessages: number
  /** …and at most this many characters of markup (but always at least one message). */
  answerMaxChars: number
}

/**
 * Answers kept between two publishes, in entries and in characters of markup. Honest pollers share
 * a handful of cursors (those of the last second's publishes); more are a client making up cursors.
 */
export const CACHED_ANSWERS_MAX = 64
export const CACHED_ANSWERS_MAX_CHARS = 2 * 1024 * 1024

/**
 * A room's own post is published at once while fewer polls than this were answered since the last
 * publish (an answer shared by so few costs little to rebuild), else with the next refresh.
 */
const EAGER_PUBLISH_MAX_POLLS = 50

interface CachedMessage {
  id: number
  html: string
  fetchedAt: number
}

export interface Delivery {
  html: string
  /** The last message included: where the next poll starts. */
  cursor: number
  /** False when the answer was cut short by its limits: more is waiting after `cursor`. */
  complete: boolean
}

/**
 * This process's view of the chat room, shared by all of its polls.
 *
 * The original ran two queries and a session write per poll. Here a poll is answered from memory:
 * one coalesced query per `refreshMs` fetches new messages for every poller of the process, and one
 * UPDATE per `pollIntervalMs` marks everybody who polled as present. MessageID is the delivery
 * cursor (the client carries it in the thread frame's URL), which is what makes delivery exactly
 * once and in posting order, whichever process posted or polls.
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
  const { db, epochs, messages, users, renderMessage, log } = deps
  const cached: CachedMessage[] = []
  let lastId = 0
  let loaded = false
  let healthy = true

  // Polls are answered from the published part of `cached`: its first `publishedCount` messages,
  // up to `publishedId`. Answers are cached until the next publish, so everyone polling in between
  // shares one answer per cursor (built, encoded and compressed once). Publishing on every post
  // would make nearly every poll of a busy room an answer of its own. The key is the index of the
  // answer's first message, not the cursor a client sent: made-up cursors between two messages
  // share one answer.
  const deliveries = new LRUCache<number, Delivery>({
    max: CACHED_ANSWERS_MAX,
    maxSize: CACHED_ANSWERS_MAX_CHARS,
    sizeCalculation: (delivery) => Math.max(1, delivery.html.length)
  })
  let publishedCount = 0
  let publishedId = 0
  let pollsSincePublish = 0

  function append (message: StoredMessage, now: number): void {
    cached.push({ id: message.id, html: renderMessage(message), fetchedAt: now })
    lastId = message.id
  }

  function publish (): void {
    if (publishedCount === cached.length && publishedId === lastId) return
    publishedCount = cached.length
    publishedId = lastId
    deliveries.clear()
    pollsSincePublish = 0
  }

  // Bumped when the database lost its tables: UserIDs start again at 1 then, so a presence batch
  // taken before must not mark the new participants who got those ids as gone.
  let generation = 0
  const present = new Set<number>()
  const gone = new Map<number, number>()

  let epoch: string | undefined
  let epochCheckDue = true
  db.onConnection(() => { epochCheckDue = true })
  // Back from an outage: record everyone who kept polling before a post's garbage collection could
  // mistake them for idle.
  db.onRecovery(() => { flushPresence().catch(() => undefined) })

  /**
   * MEMORY tables are empty after a database restart and AUTO_INCREMENT starts again at 1, so every
   * cursor and cached id of this process would be wrong. A new connection is the moment to look.
   */
  async function checkEpoch (): Promise<void> {
    if (!epochCheckDue) return
    epochCheckDue = false
    const current = await epochs.current({ probe: true })
    if (epoch !== undefined && current !== epoch) {
      log.warn('the database lost its MEMORY tables (restart?): forgetting cached messages and sessions')
      cached.length = 0
      lastId = 0
      publishedCount = 0
      publishedId = 0
      deliveries.clear()
      present.clear()
      gone.clear()
      generation++
      deps.onDatabaseReset()
    }
    epoch = current
  }

  async function fetchNewMessages (): Promise<void> {
    try {
      await checkEpoch()
      const fresh = await messages.after(lastId, { probe: true })
      const now = performance.now()
      for (const message of fresh) {
        // Already added by its own post (see addPosted) while this query was in flight.
        if (message.id <= lastId) continue
        append(message, now)
      }
      let expired = 0
      while (expired < cached.length && (cached[expired] as CachedMessage).fetchedAt < now - options.retentionMs) expired++
      if (expired > 0) {
        cached.splice(0, expired)
        publishedCount = Math.max(0, publishedCount - expired)
        deliveries.clear()
      }
      publish()
      loaded = true
      if (!healthy) log.info('database reachable again')
      healthy = true
    } catch (error) {
      epochCheckDue = true
      if (healthy) log.error({ err: error }, 'cannot fetch messages from the database')
      healthy = false
      throw error
    }
  }

  // Coalescing: any number of callers share one query in flight, and a caller that arrives while
  // one runs gets the next one, which starts after its own INSERT has completed.
  let running: Promise<void> | null = null
  let queued: Promise<void> | null = null
  function refresh (): Promise<void> {
    if (running === null) {
      running = fetchNewMessages().finally(() => { running = null })
      return running
    }
    if (queued === null) {
      const after = running.catch(() => undefined)
      queued = after.then(() => { queued = null; return refresh() })
    }
    return queued
  }

  async function flushPresence (): Promise<void> {
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
      // Try again with the next batch; the participant has 30 s before garbage collection.
      if (generation === takenIn) for (const id of ids) present.add(id)
      throw error
    }
    const forgetBefore = performance.now() - options.goneMemoryMs
    for (const [id, since] of gone) {
      if (since >= forgetBefore) break
      gone.delete(id)
    }
  }

  let refreshTimer: NodeJS.Timeout | undefined
  let presenceTimer: NodeJS.Timeout | undefined

  return {
    /** Loads the recent messages, then keeps them fresh in the background. */
    async start (): Promise<void> {
      await refresh()
      refreshTimer = setInterval(() => { if (running === null) refresh().catch(() => undefined) }, options.refreshMs)
      presenceTimer = setInterval(() => {
        flushPresence().catch((error: unknown) => log.error({ err: error }, 'cannot record presence'))
      }, options.pollIntervalMs)
      refreshTimer.unref()
      presenceTimer.unref()
    },

    async stop (): Promise<void> {
      clearInterval(refreshTimer)
      clearInterval(presenceTimer)
      await flushPresence().catch(() => undefined)
      await running?.catch(() => undefined)
    },

    refresh,
    flushPresence,

    /**
     * Messages after `cursor`, as thread-frame HTML, or null when there is nothing new. Pollers
     * that last polled within the same publish share a cursor, so between two publishes there are
     * only a handful of distinct answers: each is built once and the same object is handed to
     * everyone asking for it (the thread route caches its encoded page per object). An answer
     * holds at most `answerMaxMessages` messages and `answerMaxChars` of markup, so no poll, with
     * whatever cursor, costs more than that; one far behind catches up over several answers.
     */
    messagesAfter (cursor: number): Delivery | null {
      pollsSincePublish++
      if (publishedId <= cursor) return null
      let low = 0
      let high = publishedCount
      while (low < high) {
        const middle = (low + high) >>> 1
        if ((cached[middle] as CachedMessage).id <= cursor) low = middle + 1
        else high = middle
      }
      if (low === publishedCount) return null
      const known = deliveries.get(low)
      if (known !== undefined) return known
      const end = Math.min(publishedCount, low + options.answerMaxMessages)
      let html = (cached[low] as CachedMessage).html
      let last = low
      while (last + 1 < end && html.length + (cached[last + 1] as CachedMessage).html.length <= options.answerMaxChars) {
        last++
        html += (cached[last] as CachedMessage).html
      }
      const delivery = { html, cursor: (cached[last] as CachedMessage).id, complete: last + 1 === publishedCount }
      deliveries.set(low, delivery)
      return delivery
    },

    /** How many answers are cached now, and their characters of markup (for tests and diagnostics). */
    cachedAnswers (): { entries: number, chars: number } {
      return { entries: deliveries.size, chars: deliveries.calculatedSize }
    },

    /**
     * A message this process just stored. When it directly follows the newest message the room
     * knows, nothing can be missing in between, so it joins the room at once and the next polls
     * carry it without waiting for a query. Otherwise (another process posted in between, or an id
     * was skipped) returns false, and the caller refreshes from the database.
     */
    addPosted (message: StoredMessage): boolean {
      if (!loaded || !healthy || message.id !== lastId + 1) return false
      append(message, performance.now())
      // A quiet room shows it at once; a busy one (many polls since the last publish share the
      // cached answers) with the next refresh, within ROOM_REFRESH_MS.
      if (pollsSincePublish < EAGER_PUBLISH_MAX_POLLS) publish()
      return true
    },

    /** The newest MessageID this process has seen: where a newcomer's delivery starts. */
    get lastId (): number { return lastId },

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

    /** False while the last attempt to reach the database failed. */
    get healthy (): boolean { return healthy && loaded }
  }
}

export type Room = ReturnType<typeof createRoom>
