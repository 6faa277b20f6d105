import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { chromium, type Browser as PlaywrightBrowser, type Frame as PlaywrightFrame, type Page as PlaywrightPage } from 'playwright-core'
import puppeteer, { type Browser as PuppeteerBrowser, type Frame as PuppeteerFrame, type KeyInput, type Page as PuppeteerPage } from 'puppeteer-core'

/*
 * Debian's own browsers, driven by whichever library can drive them: Chromium by playwright-core,
 * Firefox ESR by puppeteer-core over WebDriver BiDi (Playwright needs its own patched Firefox). The
 * tests see one small interface, so every scenario is written once and runs in both engines.
 * Neither browser may reach anything but 127.0.0.1: the machines have no outside network, and a
 * browser that tries to phone home only slows down. Never a downloaded browser build.
 */

export type EngineName = 'chromium' | 'firefox'
export const ENGINES: EngineName[] = ['chromium', 'firefox']

const CHROMIUM = '/usr/bin/chromium'
const FIREFOX = '/usr/bin/firefox-esr'

const CHROMIUM_ARGS = [
  '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
  '--disable-component-update', '--disable-sync',
  // Without it Chromium still looks up Google's hosts at start.
  '--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1'
]

/** On top of puppeteer's own test profile (updates, telemetry, safe browsing off). */
const FIREFOX_PREFS: Record<string, unknown> = {
  // Everything but 127.0.0.1 goes to a proxy that isn't there (Firefox's host-resolver-rules).
  'network.proxy.type': 1,
  'network.proxy.http': '127.0.0.1',
  'network.proxy.http_port': 9,
  'network.proxy.ssl': '127.0.0.1',
  'network.proxy.ssl_port': 9,
  'network.proxy.no_proxies_on': '127.0.0.1',
  'network.captive-portal-service.enabled': false,
  'network.connectivity-service.enabled': false,
  'network.dns.disablePrefetch': true,
  'browser.region.network.url': '',
  'toolkit.telemetry.enabled': false
}

export interface Viewport { width: number, height: number }

/** One browser process; each person gets an isolated context (own cookies) with one window. */
export interface TestBrowser {
  readonly engine: EngineName
  newPerson(viewport?: Viewport): Promise<Tab>
  close(): Promise<void>
}

/** A navigation of the tab's top document or of one of its frames. */
export interface Navigation { top: boolean, url: string }

export interface Tab {
  goto(url: string): Promise<void>
  /** The top document's URL. */
  url(): string
  /** Types into a field of the top document, replacing what was there. */
  fill(selector: string, text: string): Promise<void>
  click(selector: string): Promise<void>
  /** Types text with the keyboard into whatever has the focus. */
  type(text: string): Promise<void>
  /** Presses a key (e.g. 'Enter') on whatever has the focus. */
  press(key: string): Promise<void>
  /**
   * Evaluates a JavaScript expression (a string, so that no test-side transpilation leaks into the
   * page) in the top document or in the frame whose window name is `frame`.
   */
  evaluate<T>(expression: string, frame?: string): Promise<T>
  /**
   * Evaluates the expression until it is truthy and returns that value; errors while a document is
   * navigating count as "not yet". Fails after `timeoutMs` with `what` and the last value.
   */
  waitFor<T>(expression: string, options?: { frame?: string, timeoutMs?: number, what?: string }): Promise<T>
  /** Every navigation of the top document and of its frames since the tab opened. */
  readonly navigations: readonly Navigation[]
  screenshot(): Promise<Buffer>
  /** Closes the tab; the person's cookies stay, for a new tab of the same person. */
  closeTab(): Promise<void>
  /** A new tab for the same person (same cookies), as after closing the window and coming back. */
  reopen(): Promise<Tab>
  /** Ends the person: tab and context. */
  close(): Promise<void>
}

export async function launchBrowser (engine: EngineName): Promise<TestBrowser> {
  return engine === 'chromium' ? await launchChromium() : await launchFirefox()
}

const DEFAULT_VIEWPORT: Viewport = { width: 800, height: 600 }

async function launchChromium (): Promise<TestBrowser> {
  // Playwright refuses --user-data-dir in args; launch() gives each context a fresh in-memory profile.
  const browser: PlaywrightBrowser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS })
  return {
    engine: 'chromium',
    async newPerson (viewport = DEFAULT_VIEWPORT) {
      const context = await browser.newContext({ viewport })
      const open = async (): Promise<Tab> => playwrightTab(await context.newPage(), open, async () => { await context.close() })
      return await open()
    },
    async close () { await browser.close() }
  }
}

async function launchFirefox (): Promise<TestBrowser> {
  const profile = await mkdtemp(join(tmpdir(), 'jenchat-firefox-'))
  const browser: PuppeteerBrowser = await puppeteer.launch({
    browser: 'firefox',
    protocol: 'webDriverBiDi',
    executablePath: FIREFOX,
    headless: true,
    userDataDir: profile,
    extraPrefsFirefox: FIREFOX_PREFS,
    // Otherwise Firefox fetches its remote settings from Mozilla at start.
    env: { ...process.env, MOZ_REMOTE_SETTINGS_DEVTOOLS: '1' }
  })
  return {
    engine: 'firefox',
    async newPerson (viewport = DEFAULT_VIEWPORT) {
      const context = await browser.createBrowserContext()
      const open = async (): Promise<Tab> => {
        // A window of its own: in a background tab the timers are throttled (the chat polls
        // every few seconds instead of every second) and puppeteer's typing waits for layout.
        const page = await context.newPage({ type: 'window' })
        await page.setViewport(viewport)
        return puppeteerTab(page, open, async () => { await context.close() })
      }
      return await open()
    },
    async close () {
      await browser.close()
      await rm(profile, { recursive: true, force: true })
    }
  }
}

type Evaluate = (expression: string, frame: string | undefined) => Promise<unknown>

function waiter (evaluate: Evaluate): Tab['waitFor'] {
  return async function waitFor<T> (expression: string, options: { frame?: string, timeoutMs?: number, what?: string } = {}): Promise<T> {
    const deadline = Date.now() + (options.timeoutMs ?? 10_000)
    let last: unknown
    for (;;) {
      try {
        last = await evaluate(expression, options.frame)
        if (last !== null && last !== undefined && last !== false && last !== '' && last !== 0) return last as T
      } catch (error) {
        last = error instanceof Error ? error.message : error
      }
      if (Date.now() > deadline) {
        throw new Error(`timed out waiting for ${options.what ?? expression}; last value: ${JSON.stringify(last)}`)
      }
      await new Promise((resolve) => setTimeout(resolve, 25))
    }
  }
}

function playwrightTab (page: PlaywrightPage, reopen: () => Promise<Tab>, close: () => Promise<void>): Tab {
  const navigations: Navigation[] = []
  page.on('framenavigated', (frame) => navigations.push({ top: frame === page.mainFrame(), url: frame.url() }))
  const frameNamed = (name: string | undefined): PlaywrightFrame => {
    if (name === undefined) return page.mainFrame()
    const frame = page.frame({ name })
    if (frame === null) throw new Error(`no frame named ${name}`)
    return frame
  }
  const evaluate: Evaluate = async (expression, frame) => await frameNamed(frame).evaluate(expression)
  return {
    async goto (url) { await page.goto(url) },
    url: () => page.url(),
    async fill (selector, text) { await page.fill(selector, text) },
    async click (selector) { await page.click(selector) },
    async type (text) { await page.keyboard.type(text) },
    async press (key) { await page.keyboard.press(key) },
    evaluate: async <T>(expression: string, frame?: string) => await evaluate(expression, frame) as T,
    waitFor: waiter(evaluate),
    navigations,
    screenshot: async () => await page.screenshot(),
    async closeTab () { await page.close() },
    reopen,
    close
  }
}

function puppeteerTab (page: PuppeteerPage, reopen: () => Promise<Tab>, close: () => Promise<void>): Tab {
  const navigations: Navigation[] = []
  page.on('framenavigated', (frame) => navigations.push({ top: frame === page.mainFrame(), url: frame.url() }))
  // Frame.name() is not available over BiDi; a frame's window name is its element's name attribute.
  const frameNamed = async (name: string | undefined): Promise<PuppeteerFrame> => {
    if (name === undefined) return page.mainFrame()
    for (const frame of page.frames()) {
      if (frame === page.mainFrame()) continue
      if (await frame.evaluate('window.name').catch(() => null) === name) return frame
    }
    throw new Error(`no frame named ${name}`)
  }
  const evaluate: Evaluate = async (expression, frame) => await (await frameNamed(frame)).evaluate(expression)
  return {
    async goto (url) { await page.goto(url) },
    url: () => page.url(),
    async fill (selector, text) { await page.locator(selector).fill(text) },
    async click (selector) { await page.click(selector) },
    async type (text) { await page.keyboard.type(text) },
    async press (key) { await page.keyboard.press(key as KeyInput) },
    evaluate: async <T>(expression: string, frame?: string) => await evaluate(expression, frame) as T,
    waitFor: waiter(evaluate),
    navigations,
    screenshot: async () => Buffer.from(await page.screenshot()),
    async closeTab () { await page.close() },
    reopen,
    close
  }
}
