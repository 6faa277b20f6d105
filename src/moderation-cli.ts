import { isIP } from 'node:net'
import { normalizeAddress } from './client-address.js'
import { ConfigError, loadConfig } from './config.js'
import { createBansRepository } from './db/bans.js'
import { createKicksRepository } from './db/kicks.js'
import { createMessagesRepository } from './db/messages.js'
import { createDatabase, isConnectionFailure } from './db/pool.js'
import { createUsersRepository } from './db/users.js'
import { prepareMessage, removeInvalidCharacters } from './message-text.js'
import { createModeration, type Moderation, type Target } from './moderation.js'
import { HANDLE_PATTERN, MAX_HANDLE_LENGTH } from './routes/login.js'

/** Exit codes, for scripts (documented in the README). */
export const EXIT = {
  ok: 0,
  /** Anything unexpected (the message says what). */
  failed: 1,
  /** Unknown command, missing or bad argument (handle, address, duration, text). */
  usage: 2,
  /** `kick`: nobody with that handle; `unban`: no ban on it. */
  notFound: 3,
  /** The database can't be reached, refuses the login, or has no chat tables yet. */
  database: 4,
  /** The environment (DATABASE_URL, …) is invalid. */
  config: 5
} as const

export const USAGE = `usage: npm run chat -- COMMAND
  who                                   who is in the room: handle, since when, address
  kick HANDLE [REASON…]                 end that participant's session; their window shows the reason
  ban HANDLE|ADDRESS [MINUTES] [REASON…]
                                        kick, and refuse logins by that handle or from that address
                                        for MINUTES (default 60; "forever": until unbanned)
  unban HANDLE|ADDRESS                  lift a ban
  bans                                  list the bans in force
  say TEXT…                             post an announcement everyone in the room sees once
The database is the server's: DATABASE_URL (and PRESENCE_WINDOW_MS, MESSAGE_LIFETIME_MS) as for npm start.`

export const DEFAULT_BAN_MINUTES = 60
const MAX_BAN_MINUTES = 10 * 365 * 24 * 60
/** Reasons travel in a URL to the kicked participant's login page, so they stay short. */
export const MAX_REASON_LENGTH = 120

export interface Output {
  log: (line: string) => void
  error: (line: string) => void
}

class UsageError extends Error {}
class NotFoundError extends Error {}

function parseTarget (raw: string | undefined): Target {
  if (raw === undefined || raw === '') throw new UsageError('name a handle or an address')
  if (isIP(raw) !== 0) return { kind: 'address', value: normalizeAddress(raw) }
  if (HANDLE_PATTERN.test(raw) && raw.length <= MAX_HANDLE_LENGTH) return { kind: 'handle', value: raw }
  throw new UsageError(`"${raw}" is neither a handle (letters, digits, "-", "_", at most ${MAX_HANDLE_LENGTH}) nor an IPv4/IPv6 address`)
}

function parseHandle (raw: string | undefined): string {
  const target = parseTarget(raw)
  if (target.kind !== 'handle') throw new UsageError(`"${raw ?? ''}" is an address; kick takes a handle (ban takes either)`)
  return target.value
}

function parseMinutes (raw: string | undefined): number | null {
  if (raw === undefined) return DEFAULT_BAN_MINUTES
  if (raw.toLowerCase() === 'forever') return null
  if (!/^\d{1,7}$/.test(raw) || Number(raw) < 1 || Number(raw) > MAX_BAN_MINUTES) {
    throw new UsageError(`bad duration "${raw}": give whole minutes from 1 to ${MAX_BAN_MINUTES}, or "forever" (then the reason)`)
  }
  return Number(raw)
}

function parseReason (words: string[]): string {
  const reason = removeInvalidCharacters(words.join(' ')).replace(/\s+/g, ' ').trim()
  if ([...reason].length > MAX_REASON_LENGTH) throw new UsageError(`the reason is longer than ${MAX_REASON_LENGTH} characters`)
  return reason
}

function table (rows: string[][]): string[] {
  const widths = (rows[0] ?? []).map((_, column) => Math.max(...rows.map((row) => (row[column] ?? '').length)))
  return rows.map((row) => row.map((cell, column) => column === row.length - 1 ? cell : cell.padEnd(widths[column] ?? 0)).join('  ').trimEnd())
}

function duration (seconds: number): string {
  const minutes = Math.max(0, Math.round(seconds / 60))
  if (minutes < 60) return `${minutes} min`
  return minutes % 60 === 0 ? `${minutes / 60} h` : `${Math.floor(minutes / 60)} h ${minutes % 60} min`
}

async function run (moderation: Moderation, command: string, args: string[], out: Output): Promise<void> {
  switch (command) {
    case 'who': {
      if (args.length > 0) throw new UsageError('who takes no arguments')
      const present = await moderation.who()
      if (present.length === 0) {
        out.log('nobody is here')
        return
      }
      const now = Date.now()
      out.log(table([
        ['HANDLE', 'SINCE (UTC)', 'FOR', 'ADDRESS'],
        ...present.map((p) => [p.handle, p.joined.toISOString().slice(0, 19).replace('T', ' '), duration((now - p.joined.getTime()) / 1000), p.address === '' ? '-' : p.address])
      ]).join('\n'))
      return
    }
    case 'kick': {
      const handle = parseHandle(args[0])
      const kicked = await moderation.kick(handle, parseReason(args.slice(1)))
      if (kicked === 0) throw new NotFoundError(`nobody called "${handle}" is in the room (see: npm run chat -- who)`)
      out.log(`kicked ${handle}`)
      return
    }
    case 'ban': {
      const target = parseTarget(args[0])
      const minutes = parseMinutes(args[1])
      const { kicked } = await moderation.ban(target, minutes, parseReason(args.slice(2)))
      out.log(`banned ${target.value} ${minutes === null ? 'until unbanned' : `for ${minutes} minute(s)`}` +
        (kicked > 0 ? `; removed ${kicked} participant(s) from the room` : ''))
      return
    }
    case 'unban': {
      if (args.length !== 1) throw new UsageError('unban takes one handle or address')
      const target = parseTarget(args[0])
      if (await moderation.unban(target) === 0) throw new NotFoundError(`"${target.value}" is not banned (see: npm run chat -- bans)`)
      out.log(`unbanned ${target.value}`)
      return
    }
    case 'bans': {
      if (args.length > 0) throw new UsageError('bans takes no arguments')
      const bans = await moderation.bans()
      if (bans.length === 0) {
        out.log('no bans')
        return
      }
      out.log(table([
        ['TARGET', 'ENDS IN', 'REASON'],
        ...bans.map((ban) => [ban.target, ban.remainingSeconds === null ? 'never' : duration(ban.remainingSeconds), ban.reason])
      ]).join('\n'))
      return
    }
    case 'say': {
      const message = prepareMessage(args.join(' '))
      if (!message.ok) throw new UsageError(message.reason === 'empty' ? 'say what? (say TEXT)' : 'the text is longer than 255 characters')
      await moderation.say(message.text)
      out.log('announced')
      return
    }
    default:
      throw new UsageError(`unknown command "${command}"`)
  }
}

const DATABASE_REFUSALS = new Set(['ER_ACCESS_DENIED_ERROR', 'ER_DBACCESS_DENIED_ERROR', 'ER_BAD_DB_ERROR', 'ER_TABLEACCESS_DENIED_ERROR'])

/** Runs one command (`args` as after `npm run chat --`); returns the exit code. */
export async function runCli (args: readonly string[], env: Record<string, string | undefined>, out: Output): Promise<number> {
  const [command, ...rest] = args
  if (command === undefined || command === 'help' || command === '--help' || command === '-h') {
    ;(command === undefined ? out.error : out.log)(USAGE)
    return command === undefined ? EXIT.usage : EXIT.ok
  }

  let config
  try {
    config = loadConfig(env)
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error
    out.error(error.message)
    return EXIT.config
  }

  const db = createDatabase({
    url: config.databaseUrl,
    connections: 1,
    queueLimit: 10,
    memoryTableBytes: config.limits.dbMemoryTableMb * 1024 * 1024,
    queryTimeoutMs: config.limits.dbQueryTimeoutMs
  })
  const moderation = createModeration({
    users: createUsersRepository(db),
    kicks: createKicksRepository(db),
    bans: createBansRepository(db),
    messages: createMessagesRepository(db)
  }, { presenceWindowMs: config.timings.presenceWindowMs, messageLifetimeMs: config.timings.messageLifetimeMs })

  const where = (() => { const url = new URL(config.databaseUrl); return `${url.hostname}:${url.port === '' ? 3306 : url.port}${url.pathname}` })()
  try {
    await run(moderation, command, rest, out)
    return EXIT.ok
  } catch (error) {
    if (error instanceof UsageError) {
      out.error(`${command}: ${error.message}`)
      return EXIT.usage
    }
    if (error instanceof NotFoundError) {
      out.error(`${command}: ${error.message}`)
      return EXIT.notFound
    }
    const code = (error as { code?: string }).code ?? ''
    if (isConnectionFailure(error)) {
      out.error(`cannot reach the database at ${where} (${code === '' ? String(error) : code})`)
      return EXIT.database
    }
    if (DATABASE_REFUSALS.has(code)) {
      out.error(`the database at ${where} refused: ${(error as Error).message}`)
      return EXIT.database
    }
    if (code === 'ER_NO_SUCH_TABLE') {
      out.error(`the chat's tables are not in the database at ${where} yet: start the server once (npm start creates them)`)
      return EXIT.database
    }
    out.error(`${command} failed: ${(error as Error).message}`)
    return EXIT.failed
  } finally {
    await db.close().catch(() => undefined)
  }
}
