import { randomBytes } from 'node:crypto'
import { readFileSync, statSync } from 'node:fs'
import { isIP } from 'node:net'
import { parseBlockedWords } from './word-filter.js'

/** Every tunable of the server, validated once at start-up and then frozen. */
export interface Config {
  readonly port: number
  readonly host: string
  /** App processes (Node's cluster) sharing the port; 1 runs the server in this process only. */
  readonly workers: number
  readonly databaseUrl: string
  readonly sessionSecret: string
  /** True when SESSION_SECRET was absent and a random one was made for this process only. */
  readonly sessionSecretGenerated: boolean
  readonly cookieSecure: boolean
  /**
   * The Logout link carries the session's token and a logout without it asks for confirmation;
   * false: any GET of login.php?logout=true ends the session, as in the original.
   */
  readonly logoutNeedsToken: boolean
  /** What this port adds to the 2003 pages; every switch off restores them byte for byte. */
  readonly features: Features
  /** Fastify's trustProxy: false, true, or a comma-separated list of proxy addresses/CIDRs. */
  readonly trustProxy: boolean | string
  readonly logLevel: string
  /** Words and phrases (each as its lower-cased words) masked in stored messages; empty: none. */
  readonly blockedWords: ReadonlyArray<readonly string[]>
  /** Addresses and CIDR ranges that may read /metrics; empty: nobody (the route answers 404). */
  readonly metricsAllow: readonly string[]
  readonly timings: Timings
  readonly limits: Limits
}

/**
 * The additions to the original's pages and polls (issues 11 and 12). `SHOW_PRESENCE` and
 * `JOIN_NOTICES` are the two a site sets to get the 2003 look back: with both off, the phone layout
 * and the poll after a post default to off too (each changes the chat page's bytes), so every page
 * and poll is what the original sent. Each can still be set on its own.
 */
export interface Features {
  /** The chat page lists who is here (SHOW_PRESENCE). */
  readonly showPresence: boolean
  /** "alice joined", "bob left", "carol timed out" lines in the conversation (JOIN_NOTICES). */
  readonly joinNotices: boolean
  /** A viewport and CSS that fit a phone (PHONE_LAYOUT); browsers without media queries ignore it. */
  readonly phoneLayout: boolean
  /** The post frame's answer makes the thread frame poll at once (POLL_AFTER_POST): your own line at once. */
  readonly pollAfterPost: boolean
}

/** The original's timings (seconds in the PHP code), here in milliseconds. */
export interface Timings {
  /** How often the thread frame reloads itself. */
  readonly pollIntervalMs: number
  /** A participant whose last poll is older than this is gone for login (handle free) and chat.php. */
  readonly presenceWindowMs: number
  /** Messages older than this, and participants idle this long, are collected on each post. */
  readonly messageLifetimeMs: number
  /** How often each process refreshes its view of the room from the database. */
  readonly roomRefreshMs: number
  /** A post runs garbage collection when the process's last one started at least this long ago. */
  readonly gcIntervalMs: number
  /** Absolute lifetime of a session, from login. */
  readonly sessionLifetimeMs: number
  /** Poll delay after a failed poll (the loop never stops, it slows down). */
  readonly errorRetryMs: number
}

export interface Limits {
  /** Burst flood control: at most `burstCount` messages within `burstWindowMs`. */
  readonly burstCount: number
  readonly burstWindowMs: number
  /** Sustained flood control: at most `sustainedCount` messages within `sustainedWindowMs`. */
  readonly sustainedCount: number
  readonly sustainedWindowMs: number
  /** Refused logins (bad or taken handle) allowed per IP within `loginFailureWindowMs`. */
  readonly loginFailures: number
  readonly loginFailureWindowMs: number
  /**
   * Logins (new participants) allowed per client address (IPv6: per /64 network) within
   * `loginWindowMs`, enough for a classroom behind one NAT; 0 turns the limit off.
   */
  readonly logins: number
  readonly loginWindowMs: number
  /** Database pool size and the number of requests allowed to wait for a connection. */
  readonly dbConnections: number
  readonly dbQueueLimit: number
  /**
   * Largest size of each MEMORY table, in MB (MySQL's max_heap_table_size, 16 MB by default, caps
   * the messages of the last 30 s and the sessions: about 14,000 of each).
   */
  readonly dbMemoryTableMb: number
  /** A query that takes longer than this fails (the request answers instead of hanging). */
  readonly dbQueryTimeoutMs: number
  /** A client must deliver its whole request (headers and body) within this time (slow clients). */
  readonly requestTimeoutMs: number
  /** The most a request's header block may be (Node's maxHeaderSize); a larger one gets 431. */
  readonly maxHeaderBytes: number
  /**
   * One poll's answer carries at most this many messages and this much markup (in KB of
   * characters); a participant further behind catches up over several answers at once.
   */
  readonly pollMaxMessages: number
  readonly pollMaxMarkupKb: number
}

export class ConfigError extends Error {
  constructor (readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`)
    this.name = 'ConfigError'
  }
}

type Env = Record<string, string | undefined>

const DEFAULT_DATABASE_URL = 'mysql://root@127.0.0.1:3306/jenchat'

/**
 * Secrets that were published as examples (an earlier docker-compose.yml supplied the first one as
 * its default): anyone could sign a cookie with them. Compared in lower case.
 */
const PUBLISHED_SECRETS = new Set([
  'change-me-to-a-long-random-secret-of-32-plus-chars'
])
/** Words that mark a value as a placeholder rather than a secret. */
const PLACEHOLDER_WORDS = /change[-_ ]?me|replace[-_ ]?me|your[-_ ]?secret|placeholder/i

/** Pino's levels, most verbose first. */
const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']

/**
 * The log level of a route every participant calls every second (polls, health checks): warn, so
 * that a line per request never drowns the log, or the configured level when that is quieter.
 */
export function frequentRouteLogLevel (configured: string): 'warn' | 'error' | 'fatal' | 'silent' {
  return LOG_LEVELS.indexOf(configured) > LOG_LEVELS.indexOf('warn') ? configured as 'error' | 'fatal' | 'silent' : 'warn'
}

/**
 * Reads the environment once. Every bad value is reported on its own line, all at once,
 * so a misconfigured deployment is fixed in one round instead of one error per start.
 */
export function loadConfig (env: Env = process.env): Config {
  const problems: string[] = []

  const int = (name: string, fallback: number, min: number, max: number): number => {
    const raw = env[name]
    if (raw === undefined || raw === '') return fallback
    if (!/^\d+$/.test(raw.trim())) {
      problems.push(`${name} must be a whole number, got "${raw}"`)
      return fallback
    }
    const value = Number(raw)
    if (value < min || value > max) {
      problems.push(`${name} must be between ${min} and ${max}, got ${value}`)
      return fallback
    }
    return value
  }

  const bool = (name: string, fallback: boolean): boolean => {
    const raw = env[name]
    if (raw === undefined || raw === '') return fallback
    if (/^(1|true|yes|on)$/i.test(raw)) return true
    if (/^(0|false|no|off)$/i.test(raw)) return false
    problems.push(`${name} must be true or false, got "${raw}"`)
    return fallback
  }

  const port = int('PORT', 3000, 0, 65535)
  const host = env.HOST === undefined || env.HOST === '' ? '0.0.0.0' : env.HOST
  const workers = int('WORKERS', 1, 1, 64)

  const databaseUrl = env.DATABASE_URL === undefined || env.DATABASE_URL === '' ? DEFAULT_DATABASE_URL : env.DATABASE_URL
  try {
    const url = new URL(databaseUrl)
    if (url.protocol !== 'mysql:' && url.protocol !== 'mariadb:') {
      problems.push(`DATABASE_URL must start with mysql://, got "${url.protocol}//"`)
    } else if (url.pathname.length < 2) {
      problems.push('DATABASE_URL must name a database, e.g. mysql://user:pass@host:3306/jenchat')
    }
  } catch {
    problems.push('DATABASE_URL is not a URL, e.g. mysql://user:pass@host:3306/jenchat')
  }

  let sessionSecret = env.SESSION_SECRET ?? ''
  let sessionSecretGenerated = false
  if (sessionSecret === '') {
    sessionSecret = randomBytes(32).toString('base64url')
    sessionSecretGenerated = true
  } else if (sessionSecret.length < 32) {
    problems.push(`SESSION_SECRET must be at least 32 characters, got ${sessionSecret.length}`)
  } else if (PUBLISHED_SECRETS.has(sessionSecret.toLowerCase()) || PLACEHOLDER_WORDS.test(sessionSecret)) {
    problems.push('SESSION_SECRET is a published placeholder, not a secret: make one with `openssl rand -base64 33`')
  }

  const logLevel = env.LOG_LEVEL === undefined || env.LOG_LEVEL === '' ? 'info' : env.LOG_LEVEL
  if (!LOG_LEVELS.includes(logLevel)) {
    problems.push(`LOG_LEVEL must be one of fatal, error, warn, info, debug, trace, silent, got "${logLevel}"`)
  }

  const blockedWords = readBlockedWords(env.BLOCKED_WORDS_FILE ?? '', problems)
  const metricsAllow = parseMetricsAllow(env.METRICS_ALLOW ?? '', problems)

  const timings: Timings = {
    pollIntervalMs: int('POLL_INTERVAL_MS', 1000, 100, 60_000),
    presenceWindowMs: int('PRESENCE_WINDOW_MS', 5000, 1000, 600_000),
    messageLifetimeMs: int('MESSAGE_LIFETIME_MS', 30_000, 5000, 3_600_000),
    roomRefreshMs: int('ROOM_REFRESH_MS', 100, 10, 5000),
    gcIntervalMs: int('GC_INTERVAL_MS', 1000, 0, 60_000),
    sessionLifetimeMs: int('SESSION_LIFETIME_MS', 12 * 3600_000, 60_000, 30 * 24 * 3600_000),
    errorRetryMs: int('ERROR_RETRY_MS', 2000, 100, 60_000)
  }
  if (timings.presenceWindowMs <= timings.pollIntervalMs) {
    problems.push('PRESENCE_WINDOW_MS must be longer than POLL_INTERVAL_MS, or every participant looks gone')
  }
  if (timings.messageLifetimeMs < timings.presenceWindowMs) {
    problems.push('MESSAGE_LIFETIME_MS must not be shorter than PRESENCE_WINDOW_MS')
  }

  const limits: Limits = {
    burstCount: int('FLOOD_BURST_COUNT', 5, 1, 10_000),
    burstWindowMs: int('FLOOD_BURST_WINDOW_MS', 5000, 100, 3_600_000),
    sustainedCount: int('FLOOD_SUSTAINED_COUNT', 20, 1, 10_000),
    sustainedWindowMs: int('FLOOD_SUSTAINED_WINDOW_MS', 30_000, 100, 3_600_000),
    loginFailures: int('LOGIN_FAILURE_LIMIT', 20, 1, 100_000),
    loginFailureWindowMs: int('LOGIN_FAILURE_WINDOW_MS', 60_000, 1000, 3_600_000),
    logins: int('LOGIN_LIMIT', 120, 0, 1_000_000),
    loginWindowMs: int('LOGIN_LIMIT_WINDOW_MS', 60_000, 1000, 3_600_000),
    dbConnections: int('DB_CONNECTIONS', 10, 1, 1000),
    dbQueueLimit: int('DB_QUEUE_LIMIT', 1000, 1, 100_000),
    dbMemoryTableMb: int('DB_MEMORY_TABLE_MB', 64, 1, 65_536),
    dbQueryTimeoutMs: int('DB_QUERY_TIMEOUT_MS', 3000, 100, 60_000),
    requestTimeoutMs: int('REQUEST_TIMEOUT_MS', 10_000, 1000, 600_000),
    maxHeaderBytes: int('MAX_HEADER_BYTES', 8192, 1024, 65_536),
    pollMaxMessages: int('POLL_MAX_MESSAGES', 1000, 1, 1_000_000),
    // At least one message's worst case (255 characters, each escaped as "&amp;"): about 1.3 KB.
    pollMaxMarkupKb: int('POLL_MAX_MARKUP_KB', 128, 2, 1_000_000)
  }
  if (limits.sustainedWindowMs > timings.messageLifetimeMs) {
    // Flood control counts stored messages, and messages only live this long.
    problems.push('FLOOD_SUSTAINED_WINDOW_MS must not be longer than MESSAGE_LIFETIME_MS')
  }
  if (limits.burstWindowMs > timings.messageLifetimeMs) {
    problems.push('FLOOD_BURST_WINDOW_MS must not be longer than MESSAGE_LIFETIME_MS')
  }

  const cookieSecure = bool('COOKIE_SECURE', false)
  const logoutNeedsToken = bool('LOGOUT_NEEDS_TOKEN', true)
  const showPresence = bool('SHOW_PRESENCE', true)
  const joinNotices = bool('JOIN_NOTICES', true)
  const modernPages = showPresence || joinNotices
  const features: Features = Object.freeze({
    showPresence,
    joinNotices,
    phoneLayout: bool('PHONE_LAYOUT', modernPages),
    pollAfterPost: bool('POLL_AFTER_POST', modernPages)
  })
  const rawTrustProxy = env.TRUST_PROXY ?? ''
  const trustProxy: boolean | string = rawTrustProxy === '' || /^(0|false|no|off)$/i.test(rawTrustProxy)
    ? false
    : /^(1|true|yes|on)$/i.test(rawTrustProxy) ? true : rawTrustProxy

  if (problems.length > 0) throw new ConfigError(problems)

  return Object.freeze({
    port,
    host,
    workers,
    databaseUrl,
    sessionSecret,
    sessionSecretGenerated,
    cookieSecure,
    logoutNeedsToken,
    features,
    trustProxy,
    logLevel,
    blockedWords,
    metricsAllow,
    timings: Object.freeze(timings),
    limits: Object.freeze(limits)
  })
}

/** The word list is small by design (see word-filter.ts); a bigger file is a mistake. */
const MAX_BLOCKED_WORDS_FILE_BYTES = 1024 * 1024

function readBlockedWords (path: string, problems: string[]): ReadonlyArray<readonly string[]> {
  if (path === '') return []
  let text: string
  try {
    if (statSync(path).size > MAX_BLOCKED_WORDS_FILE_BYTES) {
      problems.push(`BLOCKED_WORDS_FILE ${path} is larger than ${MAX_BLOCKED_WORDS_FILE_BYTES} bytes`)
      return []
    }
    text = readFileSync(path, 'utf8')
  } catch (error) {
    problems.push(`BLOCKED_WORDS_FILE ${path} cannot be read (${(error as NodeJS.ErrnoException).code ?? String(error)})`)
    return []
  }
  const { phrases, problems: bad } = parseBlockedWords(text)
  for (const problem of bad) problems.push(`BLOCKED_WORDS_FILE ${path}: ${problem}`)
  return Object.freeze(phrases.map((phrase) => Object.freeze(phrase)))
}

const DEFAULT_METRICS_ALLOW = ['127.0.0.1', '::1']

/** "none" turns /metrics off; otherwise addresses or CIDR ranges, comma-separated. */
function parseMetricsAllow (raw: string, problems: string[]): readonly string[] {
  if (raw.trim() === '') return Object.freeze(DEFAULT_METRICS_ALLOW)
  if (raw.trim().toLowerCase() === 'none') return Object.freeze([])
  const entries = raw.split(',').map((entry) => entry.trim()).filter((entry) => entry !== '')
  for (const entry of entries) {
    const [address = '', prefix, extra] = entry.split('/')
    const family = isIP(address)
    const bits = family === 4 ? 32 : 128
    if (family === 0 || extra !== undefined || (prefix !== undefined && (!/^\d{1,3}$/.test(prefix) || Number(prefix) > bits))) {
      problems.push(`METRICS_ALLOW must list addresses or CIDR ranges (or be "none"), got "${entry}"`)
    }
  }
  return Object.freeze(entries)
}
