import type { Session } from 'fastify'
import type { SessionsRepository } from './db/sessions.js'

type Callback = (error?: unknown) => void
type GetCallback = (error: unknown, session?: Session | null) => void

interface CachedSession {
  json: string
  /** Parsed once, for read(); never handed to @fastify/session, which keeps its own copy. */
  parsed: Readonly<Record<string, unknown>>
  /** Local monotonic deadline after which the row is read from the database again. */
  staleAt: number
}

export interface SessionStoreOptions {
  lifetimeMs: number
  /** How long a session read from the database is trusted without reading it again. */
  cacheMs: number
  /** Entries kept at most; the oldest go first. */
  cacheSize: number
}

/** JSON with every non-ASCII character escaped, so it fits the ASCII session column. */
function toAsciiJson (value: unknown): string {
  return JSON.stringify(value).replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)
}

/**
 * The @fastify/session store: rows in the MEMORY table jenChat_Sessions, so every app process
 * sees every session, with a small read-through cache in front. A session is written once at
 * login and never changes afterwards, so a poll, which happens once a second per participant,
 * normally costs no query at all. Logout on another process is seen through the participant row
 * (see room.ts), which every process re-checks each poll interval.
 */
export function createSessionStore (sessions: SessionsRepository, options: SessionStoreOptions) {
  const cache = new Map<string, CachedSession>()
  const lifetimeSeconds = Math.ceil(options.lifetimeMs / 1000)

  function remember (sessionId: string, json: string): void {
    if (cache.size >= options.cacheSize) {
      const oldest = cache.keys().next()
      if (oldest.done !== true) cache.delete(oldest.value)
    }
    cache.set(sessionId, { json, parsed: Object.freeze(JSON.parse(json) as Record<string, unknown>), staleAt: performance.now() + options.cacheMs })
  }

  async function load (sessionId: string): Promise<CachedSession | null> {
    const cached = cache.get(sessionId)
    if (cached !== undefined && cached.staleAt > performance.now()) return cached
    const json = await sessions.find(sessionId)
    if (json === null) {
      cache.delete(sessionId)
      return null
    }
    remember(sessionId, json)
    return cache.get(sessionId) as CachedSession
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
        remember(sessionId, json)
        callback()
      }, (error: unknown) => callback(error))
    },

    destroy (sessionId: string, callback: Callback): void {
      store.remove(sessionId).then(() => callback(), (error: unknown) => callback(error))
    },

    /** Ends a session (logout, expiry) in this process's cache and in the shared table. */
    async remove (sessionId: string): Promise<void> {
      cache.delete(sessionId)
      await sessions.remove(sessionId)
    },

    /** Forgets every cached session, e.g. after the database lost its MEMORY tables. */
    clearCache (): void {
      cache.clear()
    }
  }
  return store
}

export type SessionStore = ReturnType<typeof createSessionStore>
