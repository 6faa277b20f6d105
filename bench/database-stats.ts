import mysql from 'mysql2/promise'

/** Statement counters of the database server, to count queries per poll and per post. */
const COUNTERS = ['Questions', 'Com_select', 'Com_insert', 'Com_insert_select', 'Com_update', 'Com_delete'] as const
type Counter = typeof COUNTERS[number]

export type QueryRates = Record<Counter, number>

/**
 * Reads the server-wide counters (SHOW GLOBAL STATUS) at the start and end of a window. They count
 * every client of that server, including other programs using it at the same time, and the two
 * reads themselves (a few statements, negligible against thousands a second).
 */
export class DatabaseCounters {
  private constructor (private readonly connection: mysql.Connection) {}

  static async open (adminUrl: string): Promise<DatabaseCounters | null> {
    try {
      const url = new URL(adminUrl)
      const connection = await mysql.createConnection({
        host: url.hostname,
        port: url.port === '' ? 3306 : Number(url.port),
        user: decodeURIComponent(url.username),
        password: decodeURIComponent(url.password)
      })
      return new DatabaseCounters(connection)
    } catch {
      return null
    }
  }

  async read (): Promise<QueryRates> {
    const [rows] = await this.connection.query(`SHOW GLOBAL STATUS WHERE Variable_name IN (${COUNTERS.map(() => '?').join(', ')})`, [...COUNTERS])
    const values = Object.fromEntries(COUNTERS.map((name) => [name, 0])) as QueryRates
    for (const row of rows as Array<{ Variable_name: string, Value: string }>) values[row.Variable_name as Counter] = Number(row.Value)
    return values
  }

  /** Per second, between two reads `seconds` apart. */
  static rates (before: QueryRates, after: QueryRates, seconds: number): QueryRates {
    return Object.fromEntries(COUNTERS.map((name) => [name, Math.round((after[name] - before[name]) / seconds)])) as QueryRates
  }

  async close (): Promise<void> {
    await this.connection.end().catch(() => undefined)
  }
}
