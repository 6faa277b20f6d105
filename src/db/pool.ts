import mysql from 'mysql2/promise'
import type { Pool, PoolOptions, ResultSetHeader, RowDataPacket } from 'mysql2/promise'

export interface DatabaseOptions {
  url: string
  connections: number
  queueLimit: number
  queryTimeoutMs: number
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
    connectTimeout: Math.min(options.queryTimeoutMs, 10_000),
    enableKeepAlive: true,
    // Timestamps never cross into JavaScript as dates: SQL compares them with NOW(), so the
    // database server's clock is the only clock.
    dateStrings: true,
    supportBigNumbers: true
  }
  const pool: Pool = mysql.createPool(config)
  const timeout = options.queryTimeoutMs
  const connectionListeners: Array<() => void> = []
  // mysql2's pool event typings differ between its callback and promise faces; the event exists on both.
  ;(pool.pool as unknown as { on(event: 'connection', listener: () => void): void })
    .on('connection', () => { for (const listener of connectionListeners) listener() })

  return {
    databaseName: config.database as string,

    async rows<T extends RowDataPacket>(sql: string, params: unknown[] = []): Promise<T[]> {
      const [rows] = await pool.query<T[]>({ sql, timeout }, params)
      return rows
    },

    async write (sql: string, params: unknown[] = []): Promise<ResultSetHeader> {
      const [result] = await pool.query<ResultSetHeader>({ sql, timeout }, params)
      return result
    },

    /** Called whenever the pool opens a new connection (at start, on growth, after an outage). */
    onConnection (listener: () => void): void {
      connectionListeners.push(listener)
    },

    async close (): Promise<void> {
      await pool.end()
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
