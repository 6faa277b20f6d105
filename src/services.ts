import { Signer } from '@fastify/cookie'
import type { FastifyBaseLogger } from 'fastify'
import type { Config } from './config.js'
import { createBansRepository } from './db/bans.js'
import { createEpochRepository } from './db/epoch.js'
import { createKicksRepository } from './db/kicks.js'
import { createMessagesRepository } from './db/messages.js'
import { createDatabase } from './db/pool.js'
import { resizeMemoryTables } from './db/schema.js'
import { createSessionsRepository } from './db/sessions.js'
import { createUsersRepository } from './db/users.js'
import { createGarbageCollector } from './garbage-collector.js'
import { createKickNotices } from './kick-notices.js'
import { createLoginLimit } from './login-limit.js'
import { createLoginThrottle } from './login-throttle.js'
import { createMetrics } from './metrics.js'
import { createRoom } from './room/room.js'
import { createSessionStore } from './session-store.js'
import { createCookieVerifier } from './verified-cookies.js'
import { createWordFilter } from './word-filter.js'
import { renderMessage } from '../views/worker-frames.js'

/** Everything the routes share, built once per app from the validated config. */
export function createServices (config: Config, log: FastifyBaseLogger) {
  const { timings, limits } = config
  const metrics = createMetrics()
  const db = createDatabase({
    url: config.databaseUrl,
    connections: limits.dbConnections,
    queueLimit: limits.dbQueueLimit,
    memoryTableBytes: limits.dbMemoryTableMb * 1024 * 1024,
    queryTimeoutMs: limits.dbQueryTimeoutMs,
    observeQuery: metrics.observeQuery
  })
  const users = createUsersRepository(db)
  metrics.readFrom({ countPresent: async () => await users.countPresent(timings.presenceWindowMs), queueDepth: db.queueDepth })
  const kickNotices = createKickNotices({ kicks: createKicksRepository(db), secret: config.sessionSecret, log })
  const messages = createMessagesRepository(db)
  const sessions = createSessionsRepository(db)
  const sessionCacheMs = 60_000
  const sessionStore = createSessionStore(sessions, {
    lifetimeMs: timings.sessionLifetimeMs,
    cacheMs: sessionCacheMs,
    // More sessions than one process has participants (about 900 bytes each): a poll costs no query.
    cacheEntries: 50_000,
    cacheBytes: 48 * 1024 * 1024,
    missingEntries: 10_000
  })
  // The poll verifies session cookies itself (see routes/thread.ts), with the secret that
  // @fastify/session signs them with.
  const cookieSigner = new Signer(config.sessionSecret)
  const sessionCookies = createCookieVerifier((value) => cookieSigner.unsign(value))
  const room = createRoom({
    db,
    epochs: createEpochRepository(db),
    messages,
    users,
    renderMessage,
    learnWhyGone: kickNotices.learn,
    onDatabaseReset: () => {
      sessionStore.clearCache()
      // The emptied MEMORY tables may have been reopened with another client's size limit.
      resizeMemoryTables(db, log).catch((error: unknown) => { log.warn({ err: error }, 'could not resize the MEMORY tables') })
    },
    log
  }, {
    pollIntervalMs: timings.pollIntervalMs,
    refreshMs: timings.roomRefreshMs,
    retentionMs: timings.messageLifetimeMs + 30_000,
    goneMemoryMs: sessionCacheMs * 2,
    answerMaxMessages: limits.pollMaxMessages,
    answerMaxChars: limits.pollMaxMarkupKb * 1024
  })
  const garbageCollector = createGarbageCollector({ messages, users, sessions }, {
    lifetimeMs: timings.messageLifetimeMs,
    minIntervalMs: timings.gcIntervalMs,
    orphanSweepIntervalMs: 60_000
  })
  const loginThrottle = createLoginThrottle({ limit: limits.loginFailures, windowMs: limits.loginFailureWindowMs })
  const loginLimit = createLoginLimit({ limit: limits.logins, windowMs: limits.loginWindowMs })

  const bans = createBansRepository(db)
  const wordFilter = createWordFilter(config.blockedWords)

  return { config, db, users, messages, sessions, sessionStore, sessionCookies, room, garbageCollector, loginThrottle, loginLimit, metrics, kickNotices, bans, wordFilter }
}

export type Services = ReturnType<typeof createServices>
