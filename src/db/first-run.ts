import mysql from 'mysql2/promise'
import { isConnectionFailure } from './pool.js'

/*
 * What a new operator meets on the first `npm start`: a database that doesn't exist yet, a server
 * that isn't running, a wrong password, a user without rights. Each gets one line saying what to
 * do and an exit code of its own (documented in the README), instead of mysql2's stack trace.
 */

/** Exit codes of the server; a script or systemd can tell the causes apart. */
export const EXIT_CODES = {
  /** A bad environment variable (one line per problem), or an unexpected error. */
  config: 1,
  /** The database server did not answer (down, wrong host or port, firewall). */
  unreachable: 3,
  /** The database server refused the user name or password. */
  loginRefused: 4,
  /** The database does not exist (and this user may not create it), or this user may not use it at all. */
  noDatabase: 5,
  /** The user may use the database but lacks a privilege the server needs (e.g. CREATE). */
  missingPrivilege: 6
} as const

/** A start-up failure explained in one line, with the exit code that names its cause. */
export class StartupError extends Error {
  constructor (message: string, readonly exitCode: number) {
    super(message)
    this.name = 'StartupError'
  }
}

const LOGIN_REFUSED = new Set(['ER_ACCESS_DENIED_ERROR', 'ER_HOST_NOT_PRIVILEGED', 'ER_ACCESS_DENIED_NO_PASSWORD_ERROR'])
const PRIVILEGE_MISSING = new Set(['ER_TABLEACCESS_DENIED_ERROR', 'ER_COLUMNACCESS_DENIED_ERROR', 'ER_SPECIFIC_ACCESS_DENIED_ERROR'])

/** The privileges the server uses: the chat's queries, creating its tables and upgrading the PHP original's. */
const PRIVILEGES = 'SELECT, INSERT, UPDATE, DELETE, CREATE, ALTER'

interface ErrorLike { code?: string, message?: string }

function quoteIdentifier (name: string): string {
  return '`' + name.replace(/`/g, '``') + '`'
}

/** 'user'@'host' as the database server saw it (it says so in its message), else as DATABASE_URL has it. */
function account (error: ErrorLike, url: URL): string {
  const seen = /'([^']*)'@'([^']*)'/.exec(error.message ?? '')
  return seen === null ? `'${decodeURIComponent(url.username)}'@'%'` : `'${seen[1] as string}'@'${seen[2] as string}'`
}

function serverOf (url: URL): string {
  return `${url.hostname}:${url.port === '' ? '3306' : url.port}`
}

function grantLine (database: string, who: string): string {
  return `GRANT ${PRIVILEGES} ON ${quoteIdentifier(database)}.* TO ${who};`
}

/**
 * The account the server matched this login to ('user'@'%' for a user defined with a wildcard
 * host), which is what a GRANT must name: error messages show the client's address instead.
 */
async function currentAccount (databaseUrl: string, connectTimeoutMs: number): Promise<string | null> {
  try {
    const connection = await mysql.createConnection({ uri: databaseUrl, connectTimeout: connectTimeoutMs })
    try {
      const [rows] = await connection.query<Array<{ account: string } & mysql.RowDataPacket>>('SELECT CURRENT_USER() AS account')
      const account = rows[0]?.account ?? ''
      const at = account.lastIndexOf('@')
      return at < 0 ? null : `'${account.slice(0, at)}'@'${account.slice(at + 1)}'`
    } finally {
      await connection.end().catch(() => undefined)
    }
  } catch {
    return null
  }
}

/**
 * The one line (and exit code) for a failure to reach or use the database at start-up, or null
 * when the failure is something else (then the caller shows it as it is).
 */
export async function explainStartupFailure (error: unknown, databaseUrl: string, connectTimeoutMs = 2000): Promise<StartupError | null> {
  if (error instanceof StartupError) return error
  const e = (error ?? {}) as ErrorLike
  const url = new URL(databaseUrl)
  const database = decodeURIComponent(url.pathname.slice(1))
  const server = serverOf(url)
  if (e.code !== undefined && LOGIN_REFUSED.has(e.code)) {
    return new StartupError(
      `The database server at ${server} refused the login (${e.message ?? e.code}): check the user name and password in DATABASE_URL.`,
      EXIT_CODES.loginRefused)
  }
  if (e.code === 'ER_DBACCESS_DENIED_ERROR') {
    const who = account(e, url)
    return new StartupError(
      `User ${who} may not use the database "${database}" (or it does not exist and they may not create it). As a database administrator, run: CREATE DATABASE IF NOT EXISTS ${quoteIdentifier(database)}; ${grantLine(database, who)}`,
      EXIT_CODES.noDatabase)
  }
  if (e.code !== undefined && PRIVILEGE_MISSING.has(e.code)) {
    const who = await currentAccount(databaseUrl, connectTimeoutMs) ?? account(e, url)
    return new StartupError(
      `User ${who} lacks a privilege on the database "${database}" (${e.message ?? e.code}). As a database administrator, run: ${grantLine(database, who)}`,
      EXIT_CODES.missingPrivilege)
  }
  if (isConnectionFailure(error)) {
    return new StartupError(
      `Cannot reach the database server at ${server} (${e.code ?? e.message ?? 'no answer'}): is MySQL/MariaDB running there, and are host and port in DATABASE_URL right?`,
      EXIT_CODES.unreachable)
  }
  return null
}

/**
 * Makes sure the database named in DATABASE_URL exists: when it doesn't, creates it if this user
 * may, and otherwise fails with the statement an administrator should run. Connection problems
 * are explained by explainStartupFailure.
 */
export async function ensureDatabase (databaseUrl: string, options: { connectTimeoutMs: number, log: (message: string) => void }): Promise<void> {
  try {
    const connection = await mysql.createConnection({ uri: databaseUrl, connectTimeout: options.connectTimeoutMs })
    await connection.end()
    return
  } catch (error) {
    if ((error as ErrorLike).code !== 'ER_BAD_DB_ERROR') throw await explainStartupFailure(error, databaseUrl, options.connectTimeoutMs) ?? error
  }
  const url = new URL(databaseUrl)
  const database = decodeURIComponent(url.pathname.slice(1))
  const serverUrl = new URL(databaseUrl)
  serverUrl.pathname = '/'
  const connection = await mysql.createConnection({ uri: serverUrl.toString(), connectTimeout: options.connectTimeoutMs })
  try {
    // The tables spell out their character sets; the database's default doesn't matter to them.
    await connection.query('CREATE DATABASE IF NOT EXISTS ??', [database])
    options.log(`created the database "${database}"`)
  } catch (error) {
    const code = (error as ErrorLike).code
    if (code === 'ER_DBACCESS_DENIED_ERROR' || code === 'ER_SPECIFIC_ACCESS_DENIED_ERROR') {
      const who = account(error as ErrorLike, url)
      throw new StartupError(
        `The database "${database}" does not exist and user ${who} may not create it. As a database administrator, run: CREATE DATABASE ${quoteIdentifier(database)}; ${grantLine(database, who)}`,
        EXIT_CODES.noDatabase)
    }
    throw await explainStartupFailure(error, databaseUrl, options.connectTimeoutMs) ?? error
  } finally {
    await connection.end().catch(() => undefined)
  }
}
