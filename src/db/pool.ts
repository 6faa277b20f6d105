import mysql from 'mysql2'
import type { Pool, PoolOptions, QueryError, ResultSetHeader, RowDataPacket } from 'mysql2'

export interface QueryOptions {
  /** Runs even while the database is known to be unreachable, to find out when it is back. */
  probe?: boolean
}

const BREAKER_OPEN_MS = 1000

/** The database was unreachable a moment ago; the request fails without waiting for it. */
export class DatabaseUnavailableError extends Error {
  readonly code = 'JENCHAT_DB_UNAVAILABLE'
  constructor () {
    super('the database is unreachable')
    this.name = 'DatabaseUnavailableError'
  }
}

const CONNECTION_FAILURES = new Set([
  'ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN',
  'PROTOCOL_CONNECTION_LOST', 'PROTOCOL_SEQUENCE_TIMEOUT', 'ER_CON_COUNT_ERROR', 'ER_SERVER_SHUTDOWN'
])

/**
 * Errors that say the server can't be reached (as opposed to a bad query, a full table or a busy
 * pool). A full pool queue is overload, not an outage: treating it as one would refuse every
 * request for a second, the moment the room is busiest.
 */
export function isConnectionFailure (error: unknown): boolean {
  const e = error as { code?: string, fatal?: boolean } | null
  if (e === null || typeof e !== 'object') return false
  return e.fatal === true || (e.code !== undefined && CONNECTION_FAILURES.has(e.code))
}

/** The pool's bounded wait queue is full: too many queries at once, not a dead server. */
export function isPoolBusy (error: unknown): boolean {
  return (error as { message?: string } | null)?.message === 'Queue limit reached.'
}

export interface DatabaseOptions {
  url: string
  connections: number
  queueLimit: number
  queryTimeoutMs: number
  /** max_heap_table_size of every connection: the size a MEMORY table gets when it is created or altered. */
  memoryTableBytes: number
  /** Told how long each query took, from the call to its answer (including the wait for a connection). */
  observeQuery?: (seconds: number) => void
}

/**
 * The one door to MySQL. Every query has a timeout and the pool's wait queue is bounded, so a
 * database outage turns into fast errors instead of requests that hang (mysql2 has no acquire
 * timeout of its own).
 */
export function createDatabase (options: DatabaseOptions) {
  const url = new URL(options.url)
  const config: PoolOptions = {
    host: url.hostname,
    port: url.port === '' ? 3306 : Number(url.port),
    user: decodeURIComponent(url.username),
    password: decodeURIComponent(url.password),
    database: decodeURIComponent(url.pathname.slice(1)),
    charset: 'utf8mb4',
    connectionLimit: options.connections,
    maxIdle: options.connections,
    queueLimit: options.queueLimit,
    // A dead or unreachable server must be noticed quickly: the chat resumes within seconds of its return.
    connectTimeout: Math.min(options.queryTimeoutMs, 2000),
    enableKeepAlive: true,
    // Timestamps never cross into JavaScript as dates: SQL compares them with NOW(), so the
    // database server's clock is the only clock.
    dateStrings: true,
    supportBigNumbers: true
  }
  const pool: Pool = mysql.createPool(config)
  const timeout = options.queryTimeoutMs
  const connectionListeners: Array<() => void> = []
  pool.on('connection', (connection) => {
    // Queued before any query the pool runs on this connection. It only matters to CREATE and
    // ALTER TABLE, and it must be a session value: the global one belongs to the database server.
    connection.query(`SET SESSION max_heap_table_size = ${Math.floor(options.memoryTableBytes)}`, () => undefined)
    for (const listener of connectionListeners) listener()
  })

  // Every statement the app sends, counted where it leaves (tests and metrics read it: an
  // anonymous request must not move it).
  let statementsSent = 0

  // mysql2's callback face: its promise face captures a stack trace for every query, which cost
  // a few per cent of the server's CPU in the benchmark; errors here carry the SQL's own message.
  const observe = options.observeQuery
  function query<T> (sql: string, values: unknown[]): Promise<T> {
    statementsSent++
    return new Promise((resolve, reject) => {
      const started = observe === undefined ? 0 : performance.now()
      pool.query({ sql, timeout, values }, (error: QueryError | null, result: unknown) => {
        if (observe !== undefined) observe((performance.now() - started) / 1000)
        if (error === null) resolve(result as T)
        else reject(error)
      })
    })
  }

  // While the server is unreachable, requests fail at once instead of queueing behind connection
  // attempts that each take connectTimeout; probes (the room's background refresh, every
  // ROOM_REFRESH_MS) keep trying and close the breaker as soon as one gets through.
  let unavailableUntil = 0
  const recoveryListeners: Array<() => void> = []

  async function guarded<T> (probe: boolean, run: () => Promise<T>): Promise<T> {
    if (!probe && unavailableUntil > performance.now()) throw new DatabaseUnavailableError()
    try {
      const result = await run()
      if (unavailableUntil !== 0) {
        unavailableUntil = 0
        for (const listener of recoveryListeners) listener()
      }
      return result
    } catch (error) {
      if (isConnectionFailure(error)) unavailableUntil = performance.now() + BREAKER_OPEN_MS
      throw error
    }
  }

  return {
    databaseName: config.database as string,

    async rows<T extends RowDataPacket>(sql: string, params: unknown[] = [], options: QueryOptions = {}): Promise<T[]> {
      return await guarded(options.probe === true, async () => await query<T[]>(sql, params))
    },

    async write (sql: string, params: unknown[] = [], options: QueryOptions = {}): Promise<ResultSetHeader> {
      return await guarded(options.probe === true, async () => await query<ResultSetHeader>(sql, params))
    },

    /** Statements sent to the database by this app so far (the per-connection setup not included). */
    get statementsSent (): number { return statementsSent },

    /**
     * The last known state, without asking: false from a failed connection until a query gets
     * through again. Health checks answer from it, so that anyone calling them costs no query.
     */
    get reachable (): boolean { return unavailableUntil === 0 },
    /**
     * Queries waiting for a free connection now. mysql2 has no public accessor for it; its pool
     * keeps the waiters in `_connectionQueue` (read for the metrics only, 0 if that ever changes).
     */
    queueDepth (): number {
      return (pool as unknown as { _connectionQueue?: { length?: number } })._connectionQueue?.length ?? 0
    },

    /** Called when a query succeeds after the database had been unreachable. */
    onRecovery (listener: () => void): void {
      recoveryListeners.push(listener)
    },

    /** Called whenever the pool opens a new connection (at start, on growth, after an outage). */
    onConnection (listener: () => void): void {
      connectionListeners.push(listener)
    },

    async close (): Promise<void> {
      await new Promise<void>((resolve, reject) => { pool.end((error) => { if (error === null || error === undefined) resolve(); else reject(error) }) })
    }
  }
}

export type Database = ReturnType<typeof createDatabase>

/**
 * A MEMORY table reached max_heap_table_size (MEMORY tables never spill to disk). Garbage
 * collection frees rows as messages and idle participants age out, so the condition passes.
 */
export function isTableFull (error: unknown): boolean {
  const code = (error as { code?: string } | null)?.code
  return code === 'ER_RECORD_FILE_FULL'
}
