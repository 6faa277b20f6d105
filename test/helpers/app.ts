import type { FastifyInstance, LightMyRequestResponse } from 'fastify'
import { afterAll, afterEach, beforeAll, beforeEach } from 'vitest'
import { buildApp } from '../../src/app.js'
import { loadConfig, type Config } from '../../src/config.js'
import { createTestDatabase, type TestDatabase } from './database.js'
import { createTcpProxy, type TcpProxy } from './tcp-proxy.js'

export { createTestDatabase, type TestDatabase }

export const TEST_SECRET = 'a-test-secret-that-is-at-least-32-chars-long'

export function testConfig (databaseUrl: string, env: Record<string, string> = {}): Config {
  return loadConfig({ DATABASE_URL: databaseUrl, SESSION_SECRET: TEST_SECRET, LOG_LEVEL: 'silent', ...env })
}

/** A fresh app on the given database, not listening (drive it with inject). */
export async function buildTestApp (databaseUrl: string, env: Record<string, string> = {}): Promise<FastifyInstance> {
  return await buildApp(testConfig(databaseUrl, env))
}

/**
 * The usual shape of a test file: one database for the file, a fresh app for every test, and an
 * empty room after each. Read `app` and `database` inside tests (they change per test).
 */
export function useFreshApp (env: Record<string, string> = {}): { readonly app: FastifyInstance, readonly database: TestDatabase } {
  let database: TestDatabase | undefined
  let app: FastifyInstance | undefined
  beforeAll(async () => { database = await createTestDatabase() })
  afterAll(async () => { await database?.drop() })
  beforeEach(async () => { app = await buildTestApp((database as TestDatabase).url, env) })
  afterEach(async () => {
    await app?.close()
    await database?.clear()
  })
  return {
    get app () { return app as FastifyInstance },
    get database () { return database as TestDatabase }
  }
}

/**
 * One app for the file whose database connections go through a breakable TCP proxy, on a database
 * of the file's own. Read `app` and `proxy` inside tests.
 */
export function useAppBehindProxy (env: Record<string, string> = {}): { readonly app: FastifyInstance, readonly proxy: TcpProxy } {
  let database: TestDatabase | undefined
  let proxy: TcpProxy | undefined
  let app: FastifyInstance | undefined
  beforeAll(async () => {
    database = await createTestDatabase()
    const target = new URL(database.url)
    proxy = await createTcpProxy({ host: target.hostname, port: Number(target.port) })
    app = await buildTestApp(proxy.url(database.url), env)
  })
  afterAll(async () => {
    await app?.close()
    await proxy?.close()
    await database?.drop()
  })
  return {
    get app () { return app as FastifyInstance },
    get proxy () { return proxy as TcpProxy }
  }
}

export interface TestServer {
  baseUrl: string
  app: FastifyInstance
  close(): Promise<void>
}

/**
 * A fresh app listening on 127.0.0.1 on a free port, for browsers and load generators. `configure`
 * runs before it listens, e.g. to add a hook that holds back a request.
 */
export async function startTestServer (options: {
  databaseUrl: string
  env?: Record<string, string>
  configure?: (app: FastifyInstance) => void
}): Promise<TestServer> {
  const app = await buildTestApp(options.databaseUrl, options.env)
  options.configure?.(app)
  await app.listen({ host: '127.0.0.1', port: 0 })
  const address = app.server.address()
  if (address === null || typeof address === 'string') throw new Error('no TCP address')
  return {
    baseUrl: `http://127.0.0.1:${address.port}`,
    app,
    close: async () => { await app.close() }
  }
}

/** One browser's worth of state for inject(): a cookie jar and the chat form's token. */
export class Person {
  cookie = ''
  token = ''
  cursorUrl = '/thread.php'

  /**
   * The app (process) this person's browser talks to; switch it to act through another process.
   * `address` is the browser's client address as the app sees it.
   */
  constructor (public app: FastifyInstance, readonly handle: string, readonly address = '127.0.0.1') {}

  private remember (response: LightMyRequestResponse): void {
    for (const cookie of response.cookies) {
      if (cookie.name !== 'jenchat' && cookie.name !== '__Host-jenchat') continue
      const expired = cookie.expires !== undefined && (cookie.expires as Date).getTime() <= Date.now()
      this.cookie = expired || cookie.value === '' ? '' : `${cookie.name}=${cookie.value}`
    }
  }

  async request (method: 'GET' | 'POST', url: string, form?: Record<string, string>): Promise<LightMyRequestResponse> {
    const headers: Record<string, string> = {}
    if (this.cookie !== '') headers.cookie = this.cookie
    let payload: string | undefined
    if (form !== undefined) {
      headers['content-type'] = 'application/x-www-form-urlencoded'
      payload = new URLSearchParams(form).toString()
    }
    const response = await this.app.inject({ method, url, headers, payload, remoteAddress: this.address })
    this.remember(response)
    return response
  }

  /** Logs in through the form and opens the chat page, as a browser would. */
  async join (): Promise<void> {
    const login = await this.request('POST', '/login.php', { who: this.handle })
    if (login.statusCode !== 302) throw new Error(`login of ${this.handle} failed: ${login.statusCode} ${login.body}`)
    const chat = await this.request('GET', '/chat.php')
    if (chat.statusCode !== 200) throw new Error(`chat.php for ${this.handle}: ${chat.statusCode}`)
    const token = /name="token" value="([^"]+)"/.exec(chat.body)
    if (token === null) throw new Error('no token on the chat page')
    this.token = token[1] as string
    this.cursorUrl = '/thread.php'
  }

  /** Follows the chat page's Logout link, which carries the session's token. */
  async logout (): Promise<LightMyRequestResponse> {
    return await this.request('GET', `/login.php?logout=true&token=${encodeURIComponent(this.token)}`)
  }

  async say (message: string): Promise<LightMyRequestResponse> {
    return await this.request('POST', '/post.php', { message, token: this.token })
  }

  /** One poll, following the frame's script to the next URL; returns the message texts received. */
  async poll (): Promise<Array<{ name: string, text: string }>> {
    const response = await this.request('GET', this.cursorUrl)
    if (response.statusCode !== 200) throw new Error(`poll of ${this.handle}: ${response.statusCode} ${response.body}`)
    const next = /var u="([^"]+)"/.exec(response.body)
    if (next !== null) this.cursorUrl = '/' + (next[1] as string)
    return parseMessages(response.body)
  }
}

export function decodeEntities (text: string): string {
  return text.replace(/&(lt|gt|quot|#39|amp);/g, (_m, name: string) =>
    ({ lt: '<', gt: '>', quot: '"', '#39': "'", amp: '&' })[name] as string)
}

/** The messages of a thread.php answer, names and texts unescaped. */
export function parseMessages (body: string): Array<{ name: string, text: string }> {
  const out: Array<{ name: string, text: string }> = []
  for (const match of body.matchAll(/<div><strong>(.*?): <\/strong>(.*?)<\/div>/g)) {
    out.push({ name: decodeEntities(match[1] as string), text: decodeEntities(match[2] as string) })
  }
  return out
}
