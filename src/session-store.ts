import type { Session } from 'fastify'
import { LRUCache } from 'lru-cache'
import type { SessionsRepository } from './db/sessions.js'

type Callback = (error?: unknown) => void
type GetCallback = (error: unknown, session?: Session | null) => void

interface CachedSession {
  json: string
  /** Parsed once, for read(); never handed to @fastify/session, which keeps its own copy. */
  parsed: Readonly<Record<string, unknown>>
}

export interface SessionStoreOptions {
  lifetimeMs: number
  /**
   * How long a session read from the database is trusted without reading it again, and how long
   * one found missing is remembered as missing.
   */
  cacheMs: number
  /** Sessions kept in the read cache at most (the least recently used go first)… */
  cacheEntries: number
  /** …and bytes they may take at most (keys and JSON, counted as two bytes a character, and the parsed copy). */
  cacheBytes: number
  /** Ids remembered as missing at most (ended sessions whose cookie still polls). */
  missingEntries: number
}

/** JSON with every non-ASCII character escaped, so it fits the ASCII session column. */
function toAsciiJson (value: unknown): string {
  return JSON.stringify(value).replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)
}

/**
 * What an entry costs, roughly: the id and the JSON as UTF-16 strings, and the parsed object,
 * which is about as large again as its JSON.
 */
function sessionBytes (entry: CachedSession, sessionId: string): number {
  return 2 * sessionId.length + 4 * entry.json.length
}

/**
 * The @fastify/session store: rows in the MEMORY table jenChat_Sessions, so every app process
 * sees every session, with a small read-through cache in front. A session is written once at
 * login and never changes afterwards, so a poll, which happens once a second per participant,
 * normally costs no query at all. Logout on another process is seen through the participant row
 * (see room.ts), which every process re-checks each poll interval.
 *
 * Only ids whose signed cookie verified get here, so an attacker can't fill the caches without
 * logging in; they are bounded in entries and bytes all the same. Ids found missing (a logged-out
 * session whose window, or a script, keeps polling with the old cookie) are remembered for
 * `cacheMs` too, so such a cookie costs one query, not one per poll. A session id never comes
 * back once gone (ids are random), so remembering it as missing can't hide a new session.
 */
export function createSessionStore (sessions: SessionsRepository, options: SessionStoreOptions) {
  const cache = new LRUCache<string, CachedSession>({
    max: options.cacheEntries,
    maxSize: options.cacheBytes,
    sizeCalculation: sessionBytes,
    ttl: options.cacheMs
  })
  const missing = new LRUCache<string, true>({
    max: options.missingEntries,
    // Keys are verified session ids (32 characters); the bound in bytes is for completeness.
    maxSize: options.missingEntries * 256,
    sizeCalculation: (_value, sessionId) => 2 * sessionId.length + 1,
    ttl: options.cacheMs
  })
  const lifetimeSeconds = Math.ceil(options.lifetimeMs / 1000)

  /**
   * Keeps a session read from the database for `cacheMs`, but never past the end of its absolute
   * lifetime: a process that has it cached refuses it from then on, like one that reads the row.
   */
  function remember (sessionId: string, json: string, remainingMs: number): CachedSession {
    const entry = { json, parsed: Object.freeze(JSON.parse(json) as Record<string, unknown>) }
    missing.delete(sessionId)
    cache.set(sessionId, entry, { ttl: Math.max(1, Math.min(options.cacheMs, remainingMs)) })
    return entry
  }

  async function load (sessionId: string): Promise<CachedSession | null> {
    const cached = cache.get(sessionId)
    if (cached !== undefined) return cached
    if (missing.has(sessionId)) return null
    const found = await sessions.find(sessionId)
    if (found === null) {
      missing.set(sessionId, true)
      return null
    }
    return remember(sessionId, found.data, found.remainingMs)
  }

  const store = {
    get (sessionId: string, callback: GetCallback): void {
      load(sessionId).then(
        (found) => callback(null, found === null ? null : JSON.parse(found.json) as Session),
        (error: unknown) => callback(error)
      )
    },

    /** The session's data, read-only, for requests that only read it (the poll). */
    async read (sessionId: string): Promise<Readonly<Record<string, unknown>> | null> {
      return (await load(sessionId))?.parsed ?? null
    },

    set (sessionId: string, session: Session, callback: Callback): void {
      const json = toAsciiJson(session)
      // The participant's id in its own column: the session ends with the participant (see db/users.ts).
      const userId = typeof session.userId === 'number' ? session.userId : 0
      sessions.save(sessionId, json, lifetimeSeconds, userId).then(() => {
        // Saved at login, when the session starts its lifetime (it never changes afterwards).
        remember(sessionId, json, options.lifetimeMs)
        callback()
      }, (error: unknown) => callback(error))
    },

    destroy (sessionId: string, callback: Callback): void {
      store.remove(sessionId).then(() => callback(), (error: unknown) => callback(error))
    },

    /** Ends a session (logout, expiry) in this process's cache and in the shared table. */
    async remove (sessionId: string): Promise<void> {
      cache.delete(sessionId)
      missing.set(sessionId, true)
      await sessions.remove(sessionId)
    },

    /** Forgets every cached session, e.g. after the database lost its MEMORY tables. */
    clearCache (): void {
      cache.clear()
      missing.clear()
    },

    /** How much the caches hold now (for tests and diagnostics). */
    cacheUsage (): { entries: number, bytes: number, missing: number } {
      return { entries: cache.size, bytes: cache.calculatedSize, missing: missing.size }
    }
  }
  return store
}

export type SessionStore = ReturnType<typeof createSessionStore>
