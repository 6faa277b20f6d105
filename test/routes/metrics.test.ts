import { spawnSync } from 'node:child_process'
import type { FastifyInstance } from 'fastify'
import { describe, expect, it } from 'vitest'
import { Person, buildTestApp, createTestDatabase, useFreshApp } from '../helpers/app.js'
import { createTcpProxy } from '../helpers/tcp-proxy.js'

const t = useFreshApp()

async function scrape (app: FastifyInstance = t.app, remoteAddress = '127.0.0.1', headers: Record<string, string> = {}) {
  return await app.inject({ url: '/metrics', remoteAddress, headers })
}

/**
 * Prometheus' own parser and linter (Debian's `prometheus` package). Exit 1: the text doesn't
 * parse; exit 3: it parses, with lint problems.
 */
function promtoolCheck (text: string): { status: number | null, output: string } {
  const result = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' })
  if (result.error !== undefined) throw new Error('promtool is not installed (apt-get install prometheus)')
  return { status: result.status, output: result.stdout + result.stderr }
}

/**
 * prom-client's default metrics name three gauges "…_total", which promtool's linter flags; they
 * are the library's names (dashboards use them), so only they may be flagged, nothing of ours.
 */
const PROM_CLIENT_LINT = /^nodejs_active_(handles|requests|resources)_total non-counter metrics should not have "_total" suffix$/

function expectValid (text: string): void {
  const { status, output } = promtoolCheck(text)
  expect(status, output).not.toBe(1)
  const problems = output.split('\n').filter((line) => line !== '')
  expect(problems.filter((line) => !PROM_CLIENT_LINT.test(line))).toEqual([])
  if (problems.length === 0) expect(status).toBe(0)
}

/** The samples of a scrape promtool accepted, by "name{labels}" as written. */
function samples (text: string): Map<string, number> {
  const values = new Map<string, number>()
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue
    const space = line.lastIndexOf(' ')
    values.set(line.slice(0, space), Number(line.slice(space + 1)))
  }
  return values
}

async function read (app: FastifyInstance = t.app): Promise<Map<string, number>> {
  const response = await scrape(app)
  expect(response.statusCode).toBe(200)
  expectValid(response.body)
  return samples(response.body)
}

describe('GET /metrics', () => {
  it("is Prometheus' text format, which promtool accepts, with the app's and the process's metrics", async () => {
    const response = await scrape()
    expect(response.statusCode).toBe(200)
    expect(response.headers['content-type']).toBe('text/plain; version=0.0.4; charset=utf-8')
    expectValid(response.body)
    const values = samples(response.body)
    for (const name of [
      'jenchat_participants_present', 'jenchat_database_up', 'jenchat_db_pool_queue_depth', 'jenchat_logins_total',
      'jenchat_posts_total', 'jenchat_polls_total', 'jenchat_db_query_duration_seconds_count',
      'process_resident_memory_bytes', 'nodejs_heap_size_used_bytes', 'nodejs_eventloop_lag_p99_seconds', 'process_cpu_seconds_total'
    ]) expect(values.has(name), name).toBe(true)
    expect(values.get('jenchat_database_up')).toBe(1)
  })

  it('a broken text fails promtool (the check can fail)', () => {
    expect(promtoolCheck('# TYPE x counter\nx{a="1} 1\n').status).toBe(1)
    expect(() => { expectValid('# HELP jenchat_x_total h\n# TYPE jenchat_x_total gauge\njenchat_x_total 1\n') }).toThrow()
  })

  it('answers everyone else with the 404 of an unknown path', async () => {
    const unknown = await t.app.inject({ url: '/no-such-page', remoteAddress: '192.0.2.1' })
    for (const [address, headers] of [
      ['192.0.2.1', {}],
      ['10.0.0.1', {}],
      // Through a proxy we were not told to trust, the loopback address is the proxy's.
      ['127.0.0.1', { 'x-forwarded-for': '192.0.2.1' }]
    ] as const) {
      const response = await scrape(t.app, address, headers)
      expect(response.statusCode, address).toBe(404)
      expect(response.body).toBe(unknown.body)
      expect(response.headers['content-type']).toBe(unknown.headers['content-type'])
    }
    for (const address of ['::1', '::ffff:127.0.0.1']) expect((await scrape(t.app, address)).statusCode, address).toBe(200)
  })

  it('costs a stranger no query (only an allowed scrape counts the participants)', async () => {
    await t.app.jenchat.room.stop()
    try {
      const before = t.app.jenchat.db.statementsSent
      for (let i = 0; i < 5; i++) expect((await scrape(t.app, '192.0.2.1')).statusCode).toBe(404)
      expect(t.app.jenchat.db.statementsSent).toBe(before)
      await scrape(t.app)
      expect(t.app.jenchat.db.statementsSent).toBe(before + 1)
    } finally {
      await t.app.jenchat.room.start()
    }
  })

  it('follows METRICS_ALLOW (addresses and ranges; "none" turns it off)', async () => {
    const ranges = await buildTestApp(t.database.url, { METRICS_ALLOW: '10.0.0.0/8, 2001:db8::/32' })
    const none = await buildTestApp(t.database.url, { METRICS_ALLOW: 'none' })
    try {
      expect((await scrape(ranges, '10.20.30.40')).statusCode).toBe(200)
      expect((await scrape(ranges, '2001:db8::5')).statusCode).toBe(200)
      expect((await scrape(ranges, '127.0.0.1')).statusCode).toBe(404)
      expect((await scrape(none, '127.0.0.1')).statusCode).toBe(404)
    } finally {
      await ranges.close()
      await none.close()
    }
  })

  it('moves each metric when its event happens', async () => {
    const before = await read()
    const change = (after: Map<string, number>, name: string): number => (after.get(name) ?? 0) - (before.get(name) ?? 0)

    const alice = new Person(t.app, 'alice')
    const bob = new Person(t.app, 'bob')
    const carol = new Person(t.app, 'carol')
    await alice.join()
    await bob.join()
    await carol.join()
    await t.app.inject({ method: 'POST', url: '/login.php', headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: 'who=bad%20name' })
    await t.app.inject({ method: 'POST', url: '/login.php', headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: 'who=alice' })
    await t.database.query("INSERT INTO jenChat_Bans (Target, Reason) VALUES ('banned-one', '')")
    await t.app.inject({ method: 'POST', url: '/login.php', headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: 'who=banned-one' })
    await alice.say('hello')
    await alice.say('hello')
    await alice.say('   ')
    await alice.request('POST', '/post.php', { message: 'x', token: 'forged' })
    // All three at the same cursor: the first builds the answer, the others share it.
    await bob.poll()
    await carol.poll()
    await alice.poll()
    await bob.poll()

    const after = await read()
    expect(change(after, 'jenchat_logins_total')).toBe(3)
    expect(change(after, 'jenchat_logins_refused_total{reason="invalid"}')).toBe(1)
    expect(change(after, 'jenchat_logins_refused_total{reason="taken"}')).toBe(1)
    expect(change(after, 'jenchat_logins_refused_total{reason="banned"}')).toBe(1)
    expect(change(after, 'jenchat_posts_total')).toBe(1)
    expect(change(after, 'jenchat_posts_refused_total{reason="duplicate"}')).toBe(1)
    expect(change(after, 'jenchat_posts_refused_total{reason="empty"}')).toBe(1)
    expect(change(after, 'jenchat_posts_refused_total{reason="forged"}')).toBe(1)
    expect(change(after, 'jenchat_polls_total')).toBe(4)
    expect(change(after, 'jenchat_poll_deliveries_total{answer="built"}')).toBe(1)
    expect(change(after, 'jenchat_poll_deliveries_total{answer="shared"}')).toBe(2)
    expect(after.get('jenchat_participants_present')).toBe(3)
    expect(change(after, 'jenchat_db_query_duration_seconds_count')).toBeGreaterThan(10)
    expect(change(after, 'jenchat_db_query_duration_seconds_sum')).toBeGreaterThan(0)
    await t.database.query('DELETE FROM jenChat_Bans')
  })

  it('shows queries waiting for a pool connection', async () => {
    const app = await buildTestApp(t.database.url, { DB_CONNECTIONS: '1' })
    try {
      const waiting = Array.from({ length: 5 }, async () => await app.jenchat.db.rows('SELECT SLEEP(0.1)'))
      const during = samples((await scrape(app)).body)
      await Promise.all(waiting)
      expect(during.get('jenchat_db_pool_queue_depth')).toBeGreaterThanOrEqual(4)
      expect(samples((await scrape(app)).body).get('jenchat_db_pool_queue_depth')).toBe(0)
    } finally {
      await app.close()
    }
  })
})

describe('jenchat_database_up', () => {
  it('is 0 while the database is unreachable, and participants present unknown (NaN)', async () => {
    const database = await createTestDatabase()
    const target = new URL(database.url)
    const proxy = await createTcpProxy({ host: target.hostname, port: Number(target.port) })
    const app = await buildTestApp(proxy.url(database.url), { DB_QUERY_TIMEOUT_MS: '500' })
    try {
      expect((await read(app)).get('jenchat_database_up')).toBe(1)
      proxy.refuse()
      const down = await read(app)
      expect(down.get('jenchat_database_up')).toBe(0)
      expect(down.get('jenchat_participants_present')).toBeNaN()
      proxy.restore()
      expect((await read(app)).get('jenchat_database_up')).toBe(1)
    } finally {
      await app.close()
      await proxy.close()
      await database.drop()
    }
  })
})
