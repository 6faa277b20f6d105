import type { FastifyInstance, FastifyRequest } from 'fastify'
import { afterAll, beforeAll, onTestFinished } from 'vitest'
import { participantIn } from '../../src/session.js'
import { createTestDatabase, startTestServer, type TestDatabase, type TestServer } from './app.js'
import { launchBrowser, type EngineName, type Tab, type TestBrowser, type Viewport } from './browsers.js'
import { createTcpProxy, type TcpProxy } from './tcp-proxy.js'

export const sleep = async (ms: number): Promise<void> => { await new Promise((resolve) => setTimeout(resolve, ms)) }

/** One browser process of `engine` for the whole describe block; a context per person inside it. */
export function useBrowser (engine: EngineName): { readonly browser: TestBrowser } {
  let browser: TestBrowser | undefined
  beforeAll(async () => { browser = await launchBrowser(engine) })
  afterAll(async () => { await browser?.close() })
  return { get browser () { return browser as TestBrowser } }
}

export interface ChatServer {
  baseUrl: string
  app: FastifyInstance
  /** The poll interval the server's pages use. */
  pollIntervalMs: number
  /** Between the app and its database, when started with `throughProxy`. */
  proxy?: TcpProxy
}

/**
 * A chat server of this test's own, on an ephemeral port with a database of its own; both go when
 * the test ends. With `throughProxy` the app reaches its database through a breakable TCP proxy.
 */
export async function startChat (options: {
  env?: Record<string, string>
  configure?: (app: FastifyInstance) => void
  throughProxy?: boolean
} = {}): Promise<ChatServer> {
  let database: TestDatabase | undefined
  let proxy: TcpProxy | undefined
  let server: TestServer | undefined
  // Registered first, so it runs last (vitest runs these in reverse): after the people have left
  // and held requests have been let go, or closing the server would wait for them.
  onTestFinished(async () => {
    proxy?.restore()
    await server?.close()
    await proxy?.close()
    await database?.drop()
  })
  database = await createTestDatabase()
  if (options.throughProxy === true) {
    const target = new URL(database.url)
    proxy = await createTcpProxy({ host: target.hostname, port: Number(target.port) })
  }
  server = await startTestServer({
    databaseUrl: proxy === undefined ? database.url : proxy.url(database.url),
    env: { ...options.env },
    ...(options.configure === undefined ? {} : { configure: options.configure })
  })
  return {
    baseUrl: server.baseUrl,
    app: server.app,
    pollIntervalMs: server.app.jenchat.config.timings.pollIntervalMs,
    ...(proxy === undefined ? {} : { proxy })
  }
}

/** A new person (own cookies) with one tab; gone when the test ends. */
export async function openPerson (browser: TestBrowser, viewport?: Viewport): Promise<Tab> {
  const tab = await browser.newPerson(viewport)
  onTestFinished(async () => { await tab.close() })
  return tab
}

const ERROR_TEXT = `(function () {
  var p = document.getElementsByTagName('p')
  for (var i = 0; i < p.length; i++) if (p[i].className === 'error') return p[i].textContent
  return ''
})()`

/**
 * Goes to the site, types the handle into the login form and presses Join Chat. Resolves with
 * 'joined' once the chat page is there (and, unless `waitForLoad` is false, fully loaded), or with
 * the error the login page shows.
 */
export async function logIn (tab: Tab, server: Pick<ChatServer, 'baseUrl'>, handle: string, options: { waitForLoad?: boolean } = {}): Promise<string> {
  await tab.goto(server.baseUrl + '/')
  await tab.fill('#who', handle)
  await tab.click('input[value="Join Chat"]')
  const loaded = options.waitForLoad === false ? 'true' : "document.readyState === 'complete'"
  // The login page being left has no error paragraph, so this can't read the old page's state.
  return await tab.waitFor(
    `/\\/chat\\.php$/.test(location.pathname) ? (${loaded}) && 'joined' : ${ERROR_TEXT}`,
    { what: `${handle}'s login` }
  )
}

export async function join (tab: Tab, server: Pick<ChatServer, 'baseUrl'>, handle: string): Promise<void> {
  const result = await logIn(tab, server, handle)
  if (result !== 'joined') throw new Error(`${handle} could not join: ${result}`)
}

/** The messages in the chat window, as the person reads them ("alice: hello"). */
const TRANSCRIPT = `(function () {
  var contents = document.getElementById('contents')
  if (!contents) return null
  var out = [], names = contents.getElementsByTagName('strong')
  for (var i = 0; i < names.length; i++) out.push(names[i].parentNode.textContent)
  return out
})()`

const NOTICES = `(function () {
  var contents = document.getElementById('contents')
  if (!contents) return null
  var out = [], divs = contents.getElementsByTagName('div')
  for (var i = 0; i < divs.length; i++) if (divs[i].className === 'notice') out.push(divs[i].textContent)
  return out
})()`

export async function transcript (tab: Tab): Promise<string[]> {
  return await tab.evaluate<string[] | null>(TRANSCRIPT, 'chatContents') ?? []
}

export async function notices (tab: Tab): Promise<string[]> {
  return await tab.evaluate<string[] | null>(NOTICES, 'chatContents') ?? []
}

/** Waits until the chat window shows `line` ("bob: hi"). */
export async function waitForLine (tab: Tab, line: string, timeoutMs = 10_000): Promise<void> {
  await tab.waitFor(`(${TRANSCRIPT} || []).indexOf(${JSON.stringify(line)}) >= 0`, {
    frame: 'chatContents', timeoutMs, what: `"${line}" in the chat window`
  })
}

export const MESSAGE_VALUE = "document.getElementById('message').value"

/**
 * Types a message and sends it, with Enter as people do or with the Send button; resolves once
 * the post frame has cleared the box. With `typeIntoFocus`, the text is typed into whatever has
 * the focus, without clicking into the box first.
 */
export async function say (tab: Tab, text: string, options: { button?: boolean, typeIntoFocus?: boolean } = {}): Promise<void> {
  if (options.typeIntoFocus === true) await tab.type(text)
  else await tab.fill('#message', text)
  if (options.button === true) await tab.click('input[value="Send"]')
  else await tab.press('Enter')
  try {
    await tab.waitFor(`${MESSAGE_VALUE} === ''`, { what: `"${text}" to be sent` })
  } catch (error) {
    throw new Error(`${(error as Error).message}; notices: ${JSON.stringify(await notices(tab))}`)
  }
}

/**
 * Presses Send with whatever is in the box; resolves with 'sent' once the box is cleared, or with
 * the notice the chat window shows when the message is refused (the text then stays in the box).
 */
export async function pressSend (tab: Tab): Promise<string> {
  const before = (await notices(tab)).length
  await tab.click('input[value="Send"]')
  const frameNotices = NOTICES.replace('document.getElementById', "window.frames['chatContents'].document.getElementById")
  return await tab.waitFor(`(function () {
    if (${MESSAGE_VALUE} === '') return 'sent'
    var notices = ${frameNotices}
    return notices && notices.length > ${before} ? notices[notices.length - 1] : ''
  })()`, { what: 'the message to be sent or refused' })
}

/** The handle of the participant a request's session belongs to, if any. */
async function handleOf (app: FastifyInstance, request: FastifyRequest): Promise<string | undefined> {
  const cookie = request.cookies.jenchat
  if (cookie === undefined) return undefined
  const unsigned = request.unsignCookie(cookie)
  if (!unsigned.valid || unsigned.value === null) return undefined
  return participantIn(await app.jenchat.sessionStore.read(unsigned.value))?.handle
}

export interface HeldRequest {
  /** Resolves when the request has arrived and is being held. */
  arrived: Promise<void>
  release(): void
}

/**
 * Holds back the first request for `path` from `handle`'s browser until release() (or the end of
 * the test). Call from startChat's `configure`: hooks must be added before the server listens.
 */
export function holdFirstRequest (app: FastifyInstance, handle: string, path: string): HeldRequest {
  let arrive = (): void => {}
  let release = (): void => {}
  const arrived = new Promise<void>((resolve) => { arrive = resolve })
  const released = new Promise<void>((resolve) => { release = resolve })
  let held = false
  app.addHook('onRequest', async (request) => {
    if (held || request.url.split('?', 1)[0] !== path) return
    if (await handleOf(app, request) !== handle) return
    held = true
    arrive()
    await released
  })
  onTestFinished(() => release())
  return { arrived, release }
}

/** Polls the thread frame made since the tab opened. */
function pollsOf (tab: Tab): number {
  return tab.navigations.filter((n) => !n.top && /\/thread\.php/.test(n.url)).length
}

/** Waits until the thread frame has polled `count` more times. */
export async function waitForPolls (tab: Tab, count: number, timeoutMs = 10_000): Promise<void> {
  const target = pollsOf(tab) + count
  const deadline = Date.now() + timeoutMs
  while (pollsOf(tab) < target) {
    if (Date.now() > deadline) throw new Error(`the thread frame polled ${pollsOf(tab)} of ${target} times`)
    await sleep(25)
  }
}

/**
 * Starts timing messages in the browser itself, so that the driver's own delays under load don't
 * count: the chat page notes when its form is submitted, the chat window when each line appears.
 */
export async function recordTimes (tab: Tab): Promise<void> {
  await tab.evaluate(`document.getElementById('message').form.addEventListener('submit', function () {
    window.jenchatSubmittedAt = Date.now()
  })`)
  await tab.evaluate(`(function () {
    var contents = document.getElementById('contents')
    window.jenchatArrivals = {}
    new MutationObserver(function () {
      var names = contents.getElementsByTagName('strong')
      for (var i = 0; i < names.length; i++) {
        var line = names[i].parentNode.textContent
        if (!(line in window.jenchatArrivals)) window.jenchatArrivals[line] = Date.now()
      }
    }).observe(contents, { childList: true, subtree: true })
  })()`, 'chatContents')
}

/** When the sender last submitted the form (browser clock; see recordTimes). */
export async function submittedAt (tab: Tab): Promise<number> {
  return await tab.evaluate<number>('window.jenchatSubmittedAt')
}

/** When `line` appeared in the chat window (browser clock; see recordTimes). */
export async function arrivedAt (tab: Tab, line: string): Promise<number> {
  return await tab.evaluate<number>(`window.jenchatArrivals[${JSON.stringify(line)}]`, 'chatContents')
}
