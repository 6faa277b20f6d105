import { LRUCache } from 'lru-cache'
import type { StoredMessage } from '../db/messages.js'

export interface MessageFeedOptions {
  /** How long a fetched message is kept for slow pollers (longer than the database keeps it). */
  retentionMs: number
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
 * The recent messages of the room as rendered markup, in MessageID order, and the answers built
 * from them. MessageID is the delivery cursor (the client carries it), which is what makes
 * delivery exactly once and in posting order, whichever process posted or answers.
 *
 * Polls are answered from the published part of the feed: its first `publishedCount` messages, up
 * to `publishedId`. Answers are cached until the next publish, so everyone polling in between
 * shares one answer per cursor (built, encoded and compressed once). Publishing on every post
 * would make nearly every poll of a busy room an answer of its own. The cache key is the index of
 * the answer's first message, not the cursor a client sent: made-up cursors between two messages
 * share one answer.
 */
export function createMessageFeed (
  renderMessage: (message: StoredMessage) => string,
  options: MessageFeedOptions
) {
  const cached: CachedMessage[] = []
  let lastId = 0
  const deliveries = new LRUCache<number, Delivery>({
    max: CACHED_ANSWERS_MAX,
    maxSize: CACHED_ANSWERS_MAX_CHARS,
    sizeCalculation: (delivery) => Math.max(1, delivery.html.length)
  })
  let publishedCount = 0
  let publishedId = 0
  let pollsSincePublish = 0
  const publishListeners: Array<() => void> = []

  function append (message: StoredMessage, now: number): void {
    cached.push({ id: message.id, html: renderMessage(message), fetchedAt: now })
    lastId = message.id
  }

  function publish (): void {
    if (publishedCount === cached.length && publishedId === lastId) return
    const grew = publishedId !== lastId
    publishedCount = cached.length
    publishedId = lastId
    deliveries.clear()
    pollsSincePublish = 0
    if (grew) for (const listener of publishListeners) listener()
  }

  function expire (now: number): void {
    let expired = 0
    while (expired < cached.length && (cached[expired] as CachedMessage).fetchedAt < now - options.retentionMs) expired++
    if (expired === 0) return
    cached.splice(0, expired)
    publishedCount = Math.max(0, publishedCount - expired)
    deliveries.clear()
  }

  return {
    /** Rows fetched from the database (oldest first): new ones join, old ones expire, all are published. */
    addFetched (fresh: readonly StoredMessage[]): void {
      const now = performance.now()
      for (const message of fresh) {
        // Already added by its own post (see addPosted) while the query was in flight.
        if (message.id <= lastId) continue
        append(message, now)
      }
      expire(now)
      publish()
    },

    /**
     * A message this process just stored. When it directly follows the newest message the feed
     * knows, nothing can be missing in between, so it joins at once and the next polls carry it
     * without waiting for a query. Otherwise (another process posted in between, or an id was
     * skipped) returns false, and the caller refreshes from the database.
     */
    addPosted (message: StoredMessage): boolean {
      if (message.id !== lastId + 1) return false
      append(message, performance.now())
      // A quiet room shows it at once; a busy one (many polls since the last publish share the
      // cached answers) with the next refresh.
      if (pollsSincePublish < EAGER_PUBLISH_MAX_POLLS) publish()
      return true
    },

    /**
     * Messages after `cursor`, or null when there is nothing new. Pollers that last polled within
     * the same publish share a cursor, so between two publishes there are only a handful of
     * distinct answers: each is built once and the same object is handed to everyone asking for
     * it (the thread route caches its encoded page per object). An answer holds at most
     * `answerMaxMessages` messages and `answerMaxChars` of markup, so no poll, with whatever
     * cursor, costs more than that; one far behind catches up over several answers.
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

    /** Called after each publish that made new messages visible (push transports fan out from here). */
    onPublish (listener: () => void): void {
      publishListeners.push(listener)
    },

    /** How many answers are cached now, and their characters of markup (for tests and diagnostics). */
    cachedAnswers (): { entries: number, chars: number } {
      return { entries: deliveries.size, chars: deliveries.calculatedSize }
    },

    /** The newest MessageID known: where a newcomer's delivery starts. */
    get lastId (): number { return lastId },

    /** The newest MessageID polls can see now. */
    get publishedId (): number { return publishedId },

    /** The database lost its tables: MessageIDs start again at 1. */
    reset (): void {
      cached.length = 0
      lastId = 0
      publishedCount = 0
      publishedId = 0
      deliveries.clear()
    }
  }
}

export type MessageFeed = ReturnType<typeof createMessageFeed>
