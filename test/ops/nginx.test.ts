import { randomBytes } from 'node:crypto'
import { request } from 'node:http'
import { describe, expect, it, onTestFinished, vi } from 'vitest'
import { POST_NOTICES } from '../../src/routes/post.js'
import { TEST_SECRET } from '../helpers/app.js'
import type { Tab } from '../helpers/browsers.js'
import {
  join, MESSAGE_VALUE, notices, openPerson, say, sleep, transcript, useBrowser, waitForLine, waitForPolls
} from '../helpers/chat-in-browser.js'
import { createTestDatabase } from '../helpers/database.js'
import { es3Problems, xhtmlErrors } from '../helpers/legacy.js'
import { freePort, startNginx, type RunningNginx } from '../helpers/nginx.js'
import { startServerProcess, waitForListening, type ServerProcess } from '../helpers/server-process.js'

/*
 * The deployment the README shows, run for real: Debian's nginx with docs/nginx.conf (only the
 * ports changed) in front of two app processes (`node dist/src/server.js`) on one database, and
 * two real browsers (Chromium and Firefox ESR) chatting under /chat/.
 */

vi.setConfig({ testTimeout: 90_000, hookTimeout: 60_000 })

/** Twice the contract's poll rate, so that each browser makes enough polls to see both processes. */
const APP_ENV = {
  POLL_INTERVAL_MS: '500',
  SESSION_SECRET: TEST_SECRET,
  TRUST_PROXY: '127.0.0.1',
  LOG_LEVEL: 'info',
  // The in-flight test sends several messages in a row from one person.
  FLOOD_BURST_COUNT: '50',
  FLOOD_SUSTAINED_COUNT: '50'
}

interface AppProcess { port: number, process: ServerProcess, upstream: string }

interface Deployment {
  /** The chat's address through nginx: http://127.0.0.1:PORT/chat */
  baseUrl: string
  nginx: RunningNginx
  apps: AppProcess[]
}

/** Two app processes on a fresh database and nginx in front of them; all gone when the test ends. */
async function startDeployment (): Promise<Deployment> {
  const database = await createTestDatabase()
  const apps: AppProcess[] = []
  let nginx: RunningNginx | undefined
  onTestFinished(async () => {
    await nginx?.stop()
    for (const app of apps) {
      if (app.process.child.exitCode === null && app.process.child.signalCode === null) {
        app.process.child.kill('SIGCONT')
        app.process.child.kill('SIGTERM')
        await app.process.exited
      }
    }
    await database.drop()
  })
  for (let i = 0; i < 2; i++) {
    const port = await freePort()
    const process = startServerProcess({ ...APP_ENV, PORT: String(port), HOST: '127.0.0.1', DATABASE_URL: database.url })
    apps.push({ port, process, upstream: `127.0.0.1:${port}` })
    await waitForListening(process)
  }
  nginx = await startNginx({ appPorts: apps.map((app) => app.port) })
  return { baseUrl: `${nginx.url}/chat`, nginx, apps }
}

interface LogLine { method: string, uri: string, status: number, upstreams: string[], agent: string }

/** nginx's access log (format in test/helpers/nginx.ts), one entry per request. */
async function accessLog (deployment: Deployment): Promise<LogLine[]> {
  return (await deployment.nginx.accessLog()).map((line) => {
    const [method, uri, status, upstreams, , agent] = line.split('|')
    if (agent === undefined) throw new Error(`unexpected access log line: ${line}`)
    // Several servers tried for one request are listed as "a, b" ("a : b" across internal redirects).
    return { method: method as string, uri: uri as string, status: Number(status), upstreams: (upstreams as string).split(/, | : /), agent }
  })
}

/**
 * Another visitor: requests through nginx at uneven intervals until stopped (bounded). Without
 * other traffic, two browsers polling at the same rate take turns so regularly that round-robin
 * would give each of them the same process every time.
 */
function otherVisitor (baseUrl: string): { stop(): Promise<void> } {
  let stopped = false
  const running = (async () => {
    for (let i = 0; i < 1000 && !stopped; i++) {
      await (await fetch(`${baseUrl}/contents.html`)).arrayBuffer()
      await sleep(20 + Math.floor(Math.random() * 150))
    }
  })()
  return { async stop () { stopped = true; await running } }
}

/** How often consecutive polls of one browser went to different processes. */
function switches (upstreams: string[]): number {
  return upstreams.filter((upstream, i) => i > 0 && upstream !== upstreams[i - 1]).length
}

interface Answer { status: number, location: string | undefined, cookie: string | undefined, body: string }

/** A plain HTTP request (own connection), from `localAddress` if given. */
async function plain (url: string, options: { method?: string, form?: string, cookie?: string, headers?: Record<string, string>, localAddress?: string } = {}): Promise<Answer> {
  return await new Promise((resolve, reject) => {
    const headers: Record<string, string> = { ...options.headers }
    if (options.cookie !== undefined) headers.cookie = options.cookie
    if (options.form !== undefined) headers['content-type'] = 'application/x-www-form-urlencoded'
    const req = request(url, { method: options.method ?? 'GET', agent: false, headers, ...(options.localAddress === undefined ? {} : { localAddress: options.localAddress }) }, (res) => {
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (chunk: string) => { body += chunk })
      res.on('end', () => resolve({
        status: res.statusCode ?? 0,
        location: res.headers.location,
        cookie: res.headers['set-cookie']?.[0]?.split(';', 1)[0],
        body
      }))
    })
    req.on('error', reject)
    req.end(options.form)
  })
}

/** Logs `handle` in at one app process directly, past nginx; returns the status (and logs out again). */
async function loginAt (app: AppProcess, handle: string): Promise<number> {
  const answer = await plain(`http://${app.upstream}/login.php`, { method: 'POST', form: `who=${handle}` })
  if (answer.status === 302) {
    const cookie = answer.cookie as string
    // Logout needs the token the chat page carries.
    const token = /name="token" value="([^"]+)"/.exec((await plain(`http://${app.upstream}/chat.php`, { cookie })).body)?.[1] ?? ''
    const logout = await plain(`http://${app.upstream}/login.php?logout=true&token=${encodeURIComponent(token)}`, { cookie })
    if (logout.status !== 302) throw new Error(`logout of ${handle} failed: ${logout.status}`)
  }
  return answer.status
}

const CHROMIUM_AGENT = /Chrome\//
const FIREFOX_AGENT = /Firefox\//

describe('behind nginx with docs/nginx.conf, two app processes', () => {
  const chromium = useBrowser('chromium')
  const firefox = useBrowser('firefox')

  it('two browsers chat through it while their polls alternate between the processes: each line once, in order; presence and logout seen by both processes', async () => {
    const deployment = await startDeployment()
    const alice = await openPerson(chromium.browser)
    const bob = await openPerson(firefox.browser)
    const visitor = otherVisitor(deployment.baseUrl)
    onTestFinished(async () => { await visitor.stop() })
    await join(alice, deployment, 'alice')
    await join(bob, deployment, 'bob')

    // Both processes see who is here, whichever of them served their polls.
    for (const app of deployment.apps) {
      expect(await loginAt(app, 'alice')).toBe(409)
      expect(await loginAt(app, 'bob')).toBe(409)
    }

    const conversation: Array<[Tab, string, string]> = [
      [alice, 'alice', 'Hi Bob, this goes through nginx now'],
      [bob, 'bob', 'And my polls go to both processes in turn'],
      [alice, 'alice', 'Every line once, in order?'],
      [bob, 'bob', 'Once, in order: the database is the one queue'],
      [alice, 'alice', 'Good. Logging out now.']
    ]
    const lines: string[] = []
    for (const [from, name, text] of conversation) {
      await say(from, text)
      lines.push(`${name}: ${text}`)
      await waitForLine(from === alice ? bob : alice, lines.at(-1) as string)
    }
    await waitForLine(alice, lines.at(-1) as string)
    // A duplicate would come with a later poll; and enough polls to see them switch processes.
    await Promise.all([waitForPolls(alice, 10), waitForPolls(bob, 10)])
    expect(await transcript(alice)).toEqual(lines)
    expect(await transcript(bob)).toEqual(lines)

    await alice.click('a[href^="login.php?logout=true&token="]')
    await alice.waitFor("/\\/login\\.php$/.test(location.pathname) && !!document.getElementById('who')", { what: 'the login page after Logout' })
    // Both processes see that alice left (her handle is free), and that bob is still here.
    for (const app of deployment.apps) {
      expect(await loginAt(app, 'alice')).toBe(302)
      expect(await loginAt(app, 'bob')).toBe(409)
    }
    await say(bob, 'bye alice')
    await waitForLine(bob, 'bob: bye alice')
    await visitor.stop()

    const log = await accessLog(deployment)
    const upstreams = deployment.apps.map((app) => app.upstream)
    for (const agent of [CHROMIUM_AGENT, FIREFOX_AGENT]) {
      const polls = log.filter((l) => l.uri === '/chat/thread.php' && agent.test(l.agent))
      expect(polls.length).toBeGreaterThan(8)
      // Every poll answered by one of the two processes, both of them in turn (round-robin).
      expect(polls.every((l) => l.status === 200 && l.upstreams.length === 1)).toBe(true)
      const served = polls.map((l) => l.upstreams[0] as string)
      expect(new Set(served)).toEqual(new Set(upstreams))
      expect(switches(served)).toBeGreaterThanOrEqual(3)
    }
  })

  it('passes the client\'s address to the app, and only the one nginx saw (a forged X-Forwarded-For is replaced)', async () => {
    const deployment = await startDeployment()
    const handle = 'x' + randomBytes(3).toString('hex')
    const answer = await plain(`${deployment.baseUrl}/login.php`, {
      method: 'POST', form: `who=${handle}`, localAddress: '127.0.0.5', headers: { 'x-forwarded-for': '203.0.113.9' }
    })
    expect(answer.status).toBe(302)
    // The app's log comes through a pipe and may arrive after the answer.
    await vi.waitFor(() => {
      const logged = deployment.apps.map((app) => app.process.output()).join('\n').split('\n')
        .find((line) => line.includes('"url":"/login.php"') && line.includes('"method":"POST"'))
      expect(logged).toContain('"remoteAddress":"127.0.0.5"')
    }, { timeout: 5000 })
    // The poll-retry and post-failed pages nginx serves itself are legacy pages like the app's.
    for (const app of deployment.apps) {
      app.process.child.kill('SIGKILL')
      await app.process.exited
    }
    for (const path of ['thread.php', 'post.php']) {
      const page = await plain(`${deployment.baseUrl}/${path}`, path === 'post.php' ? { method: 'POST', form: 'message=x' } : {})
      expect(page.status).toBe(503)
      expect(page.body.length).toBeGreaterThanOrEqual(512)
      expect(xhtmlErrors(page.body)).toBe('')
      expect(es3Problems(page.body)).toEqual([])
    }
    const failed = await plain(`${deployment.baseUrl}/post.php`, { method: 'POST', form: 'message=x' })
    expect(failed.body).toContain(`parent.showNotice(${JSON.stringify(POST_NOTICES.failed)})`)
  })

  it('one process killed mid-chat: the chat goes on through the other, nothing lost, nothing twice', async () => {
    const deployment = await startDeployment()
    const alice = await openPerson(chromium.browser)
    const bob = await openPerson(firefox.browser)
    await join(alice, deployment, 'alice')
    await join(bob, deployment, 'bob')
    const lines: string[] = []
    const exchange = async (from: Tab, name: string, text: string): Promise<void> => {
      await say(from, text)
      lines.push(`${name}: ${text}`)
      await waitForLine(from === alice ? bob : alice, lines.at(-1) as string)
    }
    await exchange(alice, 'alice', 'before the crash 1')
    await exchange(bob, 'bob', 'before the crash 2')

    const [dead, survivor] = deployment.apps as [AppProcess, AppProcess]
    dead.process.child.kill('SIGKILL')
    await dead.process.exited
    for (let i = 1; i <= 6; i++) await exchange(i % 2 === 1 ? alice : bob, i % 2 === 1 ? 'alice' : 'bob', `after the crash ${i}`)
    await Promise.all([waitForPolls(alice, 3), waitForPolls(bob, 3)])
    expect(await transcript(alice)).toEqual(lines)
    expect(await transcript(bob)).toEqual(lines)

    const log = await accessLog(deployment)
    // No request failed: those nginx had sent to the dead process went on to the survivor.
    expect(log.filter((l) => l.status >= 500)).toEqual([])
    const answeredBy = log.map((l) => l.upstreams.at(-1))
    const afterDeath = answeredBy.slice(answeredBy.lastIndexOf(dead.upstream) + 1)
    expect(afterDeath.length).toBeGreaterThan(10)
    expect(afterDeath.every((upstream) => upstream === survivor.upstream)).toBe(true)
  })

  it('a message in flight when its process dies: the sender is told and keeps the text; sent again, it arrives once', async () => {
    const deployment = await startDeployment()
    const alice = await openPerson(chromium.browser)
    const bob = await openPerson(firefox.browser)
    await join(alice, deployment, 'alice')
    await join(bob, deployment, 'bob')
    const [frozen] = deployment.apps as [AppProcess, AppProcess]
    const lines: string[] = []

    // The process stops answering: requests nginx hands it wait (polls included).
    frozen.process.child.kill('SIGSTOP')
    let inFlight: string | undefined
    for (let i = 1; i <= 8 && inFlight === undefined; i++) {
      const text = `attempt ${i}`
      await alice.fill('#message', text)
      await alice.click('input[value="Send"]')
      try {
        // The other process answers in milliseconds; the frozen one never (a few seconds' margin for a busy machine).
        await alice.waitFor(`${MESSAGE_VALUE} === ''`, { timeoutMs: 4000, what: 'the box to clear' })
        lines.push(`alice: ${text}`) // the other process stored it
      } catch {
        inFlight = text
      }
    }
    expect(inFlight).toBeDefined()
    // It dies with the message unanswered: nginx may not send a POST twice, so alice is told.
    frozen.process.child.kill('SIGKILL')
    const outcome = await alice.waitFor<string>(`(function () {
      if (${MESSAGE_VALUE} === '') return 'sent after all'
      var n = window.frames['chatContents'].document.getElementsByTagName('div'), last = ''
      for (var i = 0; i < n.length; i++) if (n[i].className === 'notice') last = n[i].textContent
      return last
    })()`, { what: 'the notice that the message was not sent' })
    if (outcome === 'sent after all') {
      // The survivor stored the POST and only the redirected GET of post.php waited on the frozen
      // process; nginx may send a GET again, so the sender's frame completed. Stored once: the
      // transcripts below prove it.
      lines.push(`alice: ${inFlight as string}`)
    } else {
      expect(outcome).toBe(POST_NOTICES.failed)
      expect((await notices(alice)).at(-1)).toBe(POST_NOTICES.failed)
      expect(await alice.evaluate(MESSAGE_VALUE)).toBe(inFlight)
      await say(alice, inFlight as string)
      lines.push(`alice: ${inFlight as string}`)
    }
    await say(bob, 'got it')
    lines.push('bob: got it')
    await waitForLine(alice, 'bob: got it')
    await waitForLine(bob, 'bob: got it')
    await Promise.all([waitForPolls(alice, 3), waitForPolls(bob, 3)])
    expect(await transcript(alice)).toEqual(lines)
    expect(await transcript(bob)).toEqual(lines)
  })
})
