import { randomBytes } from 'node:crypto'
import { browserRequest } from './browser-request.js'
import { CookieJar } from './cookie-jar.js'
import { decodedBody, headerValues, HttpConnection, type HttpResponse } from './http-connection.js'
import { Pacer, rawExchange, runWorkers, type Tally } from './attack-traffic.js'

/*
 * The attacks of the attack mode (bench/README.md), each what a script written against this
 * repository's code could do to the server from one machine. Every attack is bounded: at most
 * `rate` requests a second, a fixed number of connections, and it stops at `until`.
 */

export const ATTACK_IDS = ['a', 'b', 'c', 'd', 'e', 'f', 'g'] as const
export type AttackId = typeof ATTACK_IDS[number]
/** A mix is one attack, or "h": all of them at once. */
export const MIX_IDS = [...ATTACK_IDS, 'h'] as const
export type MixId = typeof MIX_IDS[number]

export const MIX_NAMES: Record<MixId, string> = {
  a: 'junk cookies (each different, mostly 15 KB)',
  b: '16 KB headers (long User-Agent on login errors, big header blocks)',
  c: 'logins with fresh handles (refused ones from 4,096 addresses)',
  d: 'a participant spraying cursors',
  e: 'post flood from one participant',
  f: 'slow clients trickling bytes',
  g: 'malformed requests',
  h: 'all at once'
}

export interface AttackSettings {
  host: string
  port: number
  /** The chat's directory on the server, ending in "/". */
  basePath: string
  /** The session cookie's name (`jenchat`, or `__Host-jenchat` with COOKIE_SECURE). */
  cookieName: string
  /** Requests (or new connections) a second at most, per attack. */
  rate: number
  /** Keep-alive connections of a flooding attack. */
  connections: number
  /** Slow clients held open at most (attack f). */
  slowClients: number
  /** An answer that takes longer counts as a timeout. */
  timeoutMs: number
  /** The attacker's source address (honest users come from others). */
  attackerAddress: string
  /** Makes the attacker's handles unique to this run. */
  runTag: string
}

type Attack = (settings: AttackSettings, until: number, tally: Tally) => Promise<void>

const sleep = async (ms: number): Promise<void> => await new Promise((resolve) => setTimeout(resolve, ms))

/** Keep-alive connections from the attacker's address, with a sweep that times their requests out. */
class Connections {
  private readonly all: HttpConnection[] = []
  private readonly sweep: NodeJS.Timeout

  /** `address`: the source address of its connections unless told otherwise, by default the attacker's. */
  constructor (private readonly settings: AttackSettings, private readonly address = settings.attackerAddress) {
    this.sweep = setInterval(() => {
      const now = performance.now()
      for (const connection of this.all) connection.checkTimeout(now, settings.timeoutMs)
    }, 250)
  }

  open (address = this.address): HttpConnection {
    const connection = new HttpConnection(this.settings.host, this.settings.port, address)
    this.all.push(connection)
    return connection
  }

  close (): void {
    clearInterval(this.sweep)
    for (const connection of this.all) connection.close()
  }
}

/**
 * One of 16 source addresses in 127.66.<block>.0/24. An anonymous flood that the server answers by
 * closing the connection opens a new one per request; one address has about 28,000 ports, each
 * kept a minute in TIME_WAIT, which a few thousand requests a second would use up.
 */
function floodAddress (block: number, n: number): string {
  return `127.66.${block}.${(n % 16) + 1}`
}

/** Sends one request and counts its status (a failure is counted by runWorkers). */
async function send (connection: HttpConnection, request: string, tally: Tally): Promise<HttpResponse> {
  tally.requests++
  const response = await connection.sendAsync(request)
  tally.count(String(response.status))
  return response
}

function hostOf (settings: AttackSettings): string {
  return settings.host + ':' + settings.port
}

/** Some characters a cookie value may hold, `length` of them. */
function filler (length: number): string {
  return randomBytes(Math.ceil(length * 3 / 4)).toString('base64url').slice(0, length)
}

/**
 * a: anonymous polls, each with a different session cookie: mostly 15 KB, and, for a server that
 * caps what it reads, some just under an 8 KB header limit and some of 90 characters (a real signed
 * cookie is about 80), which it has to verify.
 */
const junkCookies: Attack = async (settings, until, tally) => {
  const pacer = new Pacer(settings.rate)
  const connections = new Connections(settings)
  const sizes: Array<[string, string]> = [['15 KB', filler(15 * 1024)], ['15 KB', filler(15 * 1024)], ['7.5 KB', filler(7500)], ['90 characters', filler(80)]]
  let n = 0
  try {
    const sockets = Array.from({ length: settings.connections }, (_, i) => connections.open(floodAddress(1, i)))
    await runWorkers(sockets.length, until, tally, async (worker) => {
      if (!await pacer.take(until)) return
      const i = n++
      const [size, pad] = sizes[i % sizes.length] as [string, string]
      tally.add(`cookies of ${size}`)
      // Unique by its first characters: a cache keyed by the value keeps every one.
      const cookie = settings.cookieName + '=s%3A' + i.toString(36).padStart(8, '0') + '.' + pad
      await send(sockets[worker] as HttpConnection, browserRequest('GET', settings.basePath + 'thread.php', hostOf(settings), cookie), tally)
    })
  } finally {
    connections.close()
  }
}

/** The largest request head Node reads by default is 16 KB; these stay just under it or go over. */
const HEAD_BUDGET = 16 * 1024 - 300

/** b: 16 KB headers: a long User-Agent on a login error page (compressed, so the agent is checked), big header blocks. */
const bigHeaders: Attack = async (settings, until, tally) => {
  const pacer = new Pacer(settings.rate)
  const connections = new Connections(settings)
  const host = hostOf(settings)
  // Many "MSIE 6." with "SV1" only at the end: a backtracking check of "MSIE 6 without SV1" rescans the rest at each.
  const longAgent = 'Mozilla/4.0 (compatible; ' + 'MSIE 6.0; '.repeat(Math.floor((HEAD_BUDGET - 200) / 10)) + 'SV1)'
  const padHeaders = Array.from({ length: 100 }, (_, i) => `X-Pad-${i}: ${filler(140)}\r\n`).join('')
  const overLimit = Array.from({ length: 120 }, (_, i) => `X-Over-${i}: ${filler(140)}\r\n`).join('')
  const longEncoding = 'gzip;q=0, '.repeat(Math.floor((HEAD_BUDGET - 200) / 10)) + 'gzip'
  const form = 'who=not+a+handle%21'
  const variants: Array<[string, string]> = [
    ['long user-agent, login error', `POST ${settings.basePath}login.php HTTP/1.1\r\nHost: ${host}\r\nUser-Agent: ${longAgent}\r\nAccept-Encoding: gzip, deflate\r\n` +
      `Content-Type: application/x-www-form-urlencoded\r\nContent-Length: ${form.length}\r\n\r\n${form}`],
    ['100 headers of 150 bytes', `GET ${settings.basePath}login.php HTTP/1.1\r\nHost: ${host}\r\nAccept-Encoding: gzip\r\n${padHeaders}\r\n`],
    ['long accept-encoding', `GET ${settings.basePath}login.php HTTP/1.1\r\nHost: ${host}\r\nAccept-Encoding: ${longEncoding}\r\n\r\n`],
    ['headers over 16 KB', `GET ${settings.basePath}thread.php HTTP/1.1\r\nHost: ${host}\r\n${overLimit}\r\n`]
  ]
  let n = 0
  try {
    const sockets = Array.from({ length: Math.min(settings.connections, 20) }, (_, i) => connections.open(floodAddress(3, i)))
    await runWorkers(sockets.length, until, tally, async (worker) => {
      if (!await pacer.take(until)) return
      const [kind, request] = variants[n++ % variants.length] as [string, string]
      tally.add(kind)
      await send(sockets[worker] as HttpConnection, request, tally)
    })
  } finally {
    connections.close()
  }
}

/** The n-th of 4,096 addresses in 127.77.0.0/16 (all of 127/8 is this machine). */
function sprayAddress (n: number): string {
  const i = n % 4096
  return `127.77.${Math.floor(i / 250)}.${(i % 250) + 1}`
}

/** c: logins with fresh handles, as fast as allowed; one in four is refused, from ever other addresses. */
const loginFlood: Attack = async (settings, until, tally) => {
  const pacer = new Pacer(settings.rate)
  const connections = new Connections(settings)
  const host = hostOf(settings)
  let n = 0
  try {
    const sockets = Array.from({ length: Math.min(settings.connections, 32) }, () => connections.open())
    await runWorkers(sockets.length, until, tally, async (worker) => {
      if (!await pacer.take(until)) return
      const i = n++
      if (i % 4 === 3) {
        // A refused login from an address never seen before: what a spray of IPv6 addresses does.
        tally.requests++
        tally.add('refused logins sprayed')
        const form = 'who=no+such+handle%21'
        tally.count(await rawExchange({
          host: settings.host,
          port: settings.port,
          localAddress: sprayAddress(i >> 2),
          parts: [`POST ${settings.basePath}login.php HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n` +
            `Content-Type: application/x-www-form-urlencoded\r\nContent-Length: ${form.length}\r\n\r\n${form}`],
          timeoutMs: settings.timeoutMs
        }))
        return
      }
      // No cookie: every login makes a new participant and a new session.
      const handle = 'z' + settings.runTag + i.toString(36)
      const response = await send(sockets[worker] as HttpConnection, browserRequest('POST', settings.basePath + 'login.php', host, '', 'who=' + handle), tally)
      if (response.status === 302) tally.add('logins accepted')
    })
  } finally {
    connections.close()
  }
}

/**
 * The participants of attacks d and e log in from addresses of their own: the login flood (c) uses
 * up its address's logins (LOGIN_LIMIT), and a participant is one person, not the flooding script.
 */
const INSIDER_ADDRESSES = { d: '127.66.4.1', e: '127.66.5.1' }

/** A participant of the attacker's: logged in, with the chat form's token. */
interface Insider { cookie: string, token: string }

/** Logs in (trying again until `until`), opens the chat page for its token. */
async function join (settings: AttackSettings, connection: HttpConnection, handle: string, until: number, tally: Tally): Promise<Insider | null> {
  const host = hostOf(settings)
  while (performance.now() < until) {
    const jar = new CookieJar()
    try {
      const login = await connection.sendAsync(browserRequest('POST', settings.basePath + 'login.php', host, '', 'who=' + handle))
      jar.store(headerValues(login.head, 'set-cookie'))
      if (login.status === 302) {
        const chat = await connection.sendAsync(browserRequest('GET', settings.basePath + 'chat.php', host, jar.header))
        const token = /name="token" value="([^"]*)"/.exec(decodedBody(chat).toString('latin1'))?.[1]
        if (token !== undefined) return { cookie: jar.header, token }
      }
      tally.add(`join refused (${login.status})`)
    } catch {
      tally.add('join failed')
    }
    await sleep(500)
  }
  return null
}

/** Polls once a second as the participant's thread frame would, so it is never collected as idle. */
function keepPresent (settings: AttackSettings, connection: HttpConnection, insider: Insider, until: number): Promise<void> {
  return (async () => {
    while (performance.now() < until) {
      await connection.sendAsync(browserRequest('GET', settings.basePath + 'thread.php', hostOf(settings), insider.cookie)).catch(() => undefined)
      await sleep(1000)
    }
  })()
}

/** The cursor of a poll answer's next URL (`var u="thread.php?c=123"`), or null. */
function cursorIn (response: HttpResponse): number | null {
  const match = /var u="thread\.php\?c=(\d+)"/.exec(decodedBody(response).toString('latin1'))
  return match === null ? null : Number(match[1])
}

/** d: one participant polls with random cursors between its join point and the newest message. */
const cursorSpray: Attack = async (settings, until, tally) => {
  const pacer = new Pacer(settings.rate)
  const connections = new Connections(settings, INSIDER_ADDRESSES.d)
  try {
    const first = connections.open()
    const insider = await join(settings, first, 'cursor' + settings.runTag, until, tally)
    if (insider === null) return
    const opening = await first.sendAsync(browserRequest('GET', settings.basePath + 'thread.php', hostOf(settings), insider.cookie))
    // Without a cursor the poll starts at the join point and names the newest message.
    const low = cursorIn(opening) ?? 0
    let high = low
    let n = 0
    const sockets = Array.from({ length: Math.min(settings.connections, 20) }, () => connections.open())
    await runWorkers(sockets.length, until, tally, async (worker) => {
      if (!await pacer.take(until)) return
      // Past the newest by up to 50: those are cheap, the others each build (and compress) an answer of their own.
      const cursor = low + Math.floor(Math.random() * (high - low + 50))
      const response = await send(sockets[worker] as HttpConnection, browserRequest('GET', `${settings.basePath}thread.php?c=${cursor}`, hostOf(settings), insider.cookie), tally)
      // Reading every answer would cost the attacker more than the server: every 20th tells the newest id.
      if (n++ % 20 === 0 && response.status === 200) high = Math.max(high, cursorIn(response) ?? high)
    })
    tally.add('cursor range', high - low)
  } finally {
    connections.close()
  }
}

/** e: one participant posts as fast as allowed over several connections (two tabs, two processes). */
const postFlood: Attack = async (settings, until, tally) => {
  const pacer = new Pacer(settings.rate)
  const connections = new Connections(settings, INSIDER_ADDRESSES.e)
  try {
    const insider = await join(settings, connections.open(), 'flood' + settings.runTag, until, tally)
    if (insider === null) return
    const presence = keepPresent(settings, connections.open(), insider, until)
    const token = encodeURIComponent(insider.token)
    let n = 0
    const sockets = Array.from({ length: Math.min(settings.connections, 8) }, () => connections.open())
    await runWorkers(sockets.length, until, tally, async (worker) => {
      if (!await pacer.take(until)) return
      const form = `message=flood+${n++}&token=${token}`
      const response = await send(sockets[worker] as HttpConnection, browserRequest('POST', settings.basePath + 'post.php', hostOf(settings), insider.cookie, form), tally)
      const notice = /[?&]notice=([^&]*)/.exec(headerValues(response.head, 'location')[0] ?? '')
      tally.add(response.status !== 302 ? `post answered ${response.status}` : notice === null ? 'posts stored' : `posts refused: ${notice[1] as string}`)
    })
    await presence
  } finally {
    connections.close()
  }
}

/** f: connections that send a request one byte a second, headers or body, until the server closes them. */
const slowClients: Attack = async (settings, until, tally) => {
  // New connections are paced too (at most `rate` a second), so a server that closes at once sees no storm.
  const pacer = new Pacer(Math.min(settings.rate, 200))
  const host = hostOf(settings)
  const trickleMs = 1000
  await runWorkers(settings.slowClients, until, tally, async (worker) => {
    if (!await pacer.take(until)) return
    const slowBody = worker % 2 === 1
    const head = slowBody
      ? `POST ${settings.basePath}login.php HTTP/1.1\r\nHost: ${host}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 4000\r\n\r\nwho=`
      : `GET ${settings.basePath}thread.php HTTP/1.1\r\nHost: ${host}\r\nX-Slow: `
    const left = Math.max(1, Math.ceil((until - performance.now()) / trickleMs))
    const opened = performance.now()
    tally.requests++
    tally.add(slowBody ? 'slow bodies' : 'slow headers')
    const outcome = await rawExchange({
      host: settings.host,
      port: settings.port,
      localAddress: settings.attackerAddress,
      parts: [head, ...Array.from({ length: left }, () => 'a')],
      gapMs: trickleMs,
      timeoutMs: Math.max(0, until - performance.now())
    })
    tally.count(outcome === 'timeout' ? 'still open at the end' : outcome)
    if (outcome !== 'timeout') tally.heldSeconds.push((performance.now() - opened) / 1000)
  })
}

/** g: requests no browser sends: each is written on a fresh connection and must get a short refusal. */
function malformedRequests (settings: AttackSettings): Array<[string, Array<string | Buffer>]> {
  const host = hostOf(settings)
  const base = settings.basePath
  const form = (contentType: string, body: string | Buffer, path = 'login.php'): string =>
    `POST ${base}${path} HTTP/1.1\r\nHost: ${host}\r\nContent-Type: ${contentType}\r\nContent-Length: ${body.length}\r\n\r\n`
  const big = Buffer.alloc(64 * 1024, 'a')
  const manyFields = Array.from({ length: 1000 }, (_, i) => `f${i}=1`).join('&').slice(0, 8000)
  return [
    ['not http', ['GARBAGE\r\n\r\n']],
    ['bad version', [`GET ${base}thread.php HTTP/9.9\r\nHost: ${host}\r\n\r\n`]],
    ['bad %-escape in path', [`GET ${base}%zz%E0%A4%A HTTP/1.1\r\nHost: ${host}\r\n\r\n`]],
    ['bad %-escape in query', [`GET ${base}thread.php?c=%zz&c=%E0%A4 HTTP/1.1\r\nHost: ${host}\r\n\r\n`]],
    ['bad %-escape in form', [form('application/x-www-form-urlencoded', 'who=%zz%E0'), 'who=%zz%E0']],
    ['repeated form field', [form('application/x-www-form-urlencoded', 'who=a&who=b'), 'who=a&who=b']],
    ['8 KB of form fields', [form('application/x-www-form-urlencoded', manyFields), manyFields]],
    ['64 KB body', [form('application/x-www-form-urlencoded', big), big]],
    ['10 MB announced', [`POST ${base}post.php HTTP/1.1\r\nHost: ${host}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 10000000\r\n\r\nmessage=`]],
    ['json body', [form('application/json', '{"who":"x"}'), '{"who":"x"}']],
    ['text body', [form('text/plain', 'who=x', 'post.php'), 'who=x']],
    ['multipart body', [form('multipart/form-data; boundary=x', '--x--'), '--x--']],
    ['bad content-length', [`POST ${base}login.php HTTP/1.1\r\nHost: ${host}\r\nContent-Length: abc\r\n\r\n`]],
    ['chunked and content-length', [`POST ${base}login.php HTTP/1.1\r\nHost: ${host}\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n`]],
    ['header without colon', [`GET ${base}login.php HTTP/1.1\r\nHost: ${host}\r\nNoColonHere\r\n\r\n`]],
    ['NUL in header', [`GET ${base}login.php HTTP/1.1\r\nHost: ${host}\r\nX-A: a\u0000b\r\n\r\n`]],
    ['8 KB path', [`GET ${base}${'x'.repeat(8000)} HTTP/1.1\r\nHost: ${host}\r\n\r\n`]],
    ['PUT', [`PUT ${base}post.php HTTP/1.1\r\nHost: ${host}\r\nContent-Length: 0\r\n\r\n`]],
    ['DELETE', [`DELETE ${base}thread.php HTTP/1.1\r\nHost: ${host}\r\n\r\n`]],
    ['OPTIONS *', [`OPTIONS * HTTP/1.1\r\nHost: ${host}\r\n\r\n`]],
    ['TRACE', [`TRACE ${base}login.php HTTP/1.1\r\nHost: ${host}\r\n\r\n`]],
    ['absolute URL elsewhere', [`GET http://example.com/thread.php HTTP/1.1\r\nHost: example.com\r\n\r\n`]]
  ]
}

const malformed: Attack = async (settings, until, tally) => {
  const pacer = new Pacer(settings.rate)
  const requests = malformedRequests(settings)
  let n = 0
  await runWorkers(Math.min(settings.connections, 20), until, tally, async () => {
    if (!await pacer.take(until)) return
    const i = n++
    const [kind, parts] = requests[i % requests.length] as [string, Array<string | Buffer>]
    tally.requests++
    const outcome = await rawExchange({ host: settings.host, port: settings.port, localAddress: floodAddress(2, i), parts, timeoutMs: settings.timeoutMs })
    tally.count(outcome)
    tally.add(`${kind} → ${outcome}`)
  })
}

export const ATTACKS: Record<AttackId, Attack> = {
  a: junkCookies,
  b: bigHeaders,
  c: loginFlood,
  d: cursorSpray,
  e: postFlood,
  f: slowClients,
  g: malformed
}

/** The attacks of a mix. */
export function attacksOf (mix: MixId): AttackId[] {
  return mix === 'h' ? [...ATTACK_IDS] : [mix]
}
