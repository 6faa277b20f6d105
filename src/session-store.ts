import type { Session } from 'fastify'
import type { SessionsRepository } from './db/sessions.js'

type Callback = (error?: unknown) => void
type GetCallback = (error: unknown, session?: Session | null) => void

interface CachedSession {
  json: string
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
    cache.set(sessionId, { json, staleAt: performance.now() + options.cacheMs })
  }

  return {
    get (sessionId: string, callback: GetCallback): void {
      const cached = cache.get(sessionId)
      if (cached !== undefined && cached.staleAt > performance.now()) {
        callback(null, JSON.parse(cached.json) as Session)
        return
      }
      sessions.find(sessionId).then((json) => {
        if (json === null) {
          cache.delete(sessionId)
          callback(null, null)
          return
        }
        remember(sessionId, json)
        callback(null, JSON.parse(json) as Session)
      }, (error: unknown) => callback(error))
    },

    set (sessionId: string, session: Session, callback: Callback): void {
      const json = toAsciiJson(session)
      sessions.save(sessionId, json, lifetimeSeconds).then(() => {
        remember(sessionId, json)
        callback()
      }, (error: unknown) => callback(error))
    },

    destroy (sessionId: string, callback: Callback): void {
      cache.delete(sessionId)
      sessions.remove(sessionId).then(() => callback(), (error: unknown) => callback(error))
    },

    /** Forgets every cached session, e.g. after the database lost its MEMORY tables. */
    clearCache (): void {
      cache.clear()
    }
  }
}

export type SessionStore = ReturnType<typeof createSessionStore>
