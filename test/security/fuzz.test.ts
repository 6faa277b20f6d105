import { connect } from 'node:net'
import { Writable } from 'node:stream'
import type { AddressInfo } from 'node:net'
import type { FastifyInstance, InjectOptions } from 'fastify'
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { buildApp } from '../../src/app.js'
import { createTestDatabase, Person, testConfig, type TestDatabase } from '../helpers/app.js'

/*
 * Issue 5, "Bad input": some 1,500 malformed requests, the same ones on every run (seeded; only
 * the session cookie and token differ), against a fresh app with a participant logged in. Every answer must be a short 4xx (or, for a
 * request that is in fact valid, a normal answer), never a 5xx and never a word about the
 * internals; nothing may be logged as an error; and the chat must still work afterwards.
 */

const SEED = 0x6a656e43 // "jenC"

/** mulberry32: tiny, deterministic, good enough to pick fuzz inputs. */
function prng (seed: number): () => number {
  let state = seed >>> 0
  return () => {
    state = (state + 0x6d2b79f5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

interface Fuzzer {
  int (below: number): number
  pick<T> (items: readonly T[]): T
  chance (p: number): boolean
}

function fuzzer (seed: number): Fuzzer {
  const next = prng(seed)
  return {
    int: (below) => Math.floor(next() * below),
    pick: (items) => items[Math.floor(next() * items.length)] as (typeof items)[number],
    chance: (p) => next() < p
  }
}

type Credentials = 'none' | 'person' | 'garbled'

interface FuzzCase {
  label: string
  method: string
  url: string
  headers?: Record<string, string>
  payload?: string | Buffer
  credentials: Credentials
  /** A request our pages could make (an odd but harmless query, HEAD): a 2xx/3xx answer is fine too. */
  valid?: boolean
}

const GET_ROUTES = ['/', '/login.php', '/chat.php', '/post.php', '/thread.php', '/contents.html', '/healthz']
const POST_ROUTES = ['/login.php', '/post.php']
const WRONG_METHODS = ['PUT', 'DELETE', 'PATCH', 'OPTIONS', 'TRACE', 'PROPFIND', 'SEARCH']
const FORM = 'application/x-www-form-urlencoded'

/** Names the code looks up in plain objects, and the usual prototype-pollution keys. */
const OBJECT_KEYS = ['__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', 'valueOf', '__defineGetter__']

/** Bits of text the random queries, bodies and cookies are made of. */
const PIECES = [
  'a', 'Z', '0', '9', '-', '_', ' ', '+', '.', '/', '\\', ';', ',', '#', '?', '!', '*', '~',
  '%', '%2', '%zz', '%%', '%00', '%0a', '%ff', '%C3%A9', '%ED%A0%80', '%E2%80%AE', '%C0%AE', '%u003c',
  '&', '&&', '=', '==', '[]', '[a]', '[0]', '<', '>', '"', "'", '<script>', '&lt;',
  '\u0000', '\u0001', '\u007f', '\u00ff', 'é', '\u202e', '\u2028', '\ufeff', '\ud83d\ude00',
  'message', 'who', 'token', 'c', 'notice', 'reason', 'logout', 'x', ...OBJECT_KEYS
]

/** Raw bytes that are not UTF-8: truncated, overlong, a surrogate, beyond U+10FFFF, NUL. */
const BAD_BYTES = [[0xff], [0xfe, 0xff], [0xc3], [0xc0, 0xae], [0xed, 0xa0, 0x80], [0xf4, 0x90, 0x80, 0x80], [0x00], [0x80]]

/**
 * Something no handle can contain, even after trimming and after a failed %-decoding (which keeps
 * the raw text): placed between two letters, it makes any `who` value invalid.
 */
const NOT_A_HANDLE = ['%00', '<', '%3C', '"', '%22', '%ff', 'é', '.', '@', '%', '!', '%20', '+', '\u0000']

function randomText (f: Fuzzer, pieces: number): string {
  let out = ''
  for (let i = 0; i < pieces; i++) out += f.pick(PIECES)
  return out
}

function randomBytes (f: Fuzzer, pieces: number): Buffer {
  const parts: Buffer[] = []
  for (let i = 0; i < pieces; i++) {
    parts.push(f.chance(0.2) ? Buffer.from(f.pick(BAD_BYTES)) : Buffer.from(f.pick(PIECES)))
  }
  return Buffer.concat(parts)
}

function invalidHandle (f: Fuzzer): string {
  return 'a' + randomText(f, f.int(3)).replace(/[&=]/g, '') + f.pick(NOT_A_HANDLE) + 'b'
}

/** Garbled session cookies: none of them belongs to a session. */
function garbledCookies (personCookie: string): string[] {
  const value = personCookie.slice(personCookie.indexOf('=') + 1)
  const [id = '', signature = ''] = value.split('.')
  const flip = (s: string): string => s.slice(0, -1) + (s.endsWith('A') ? 'B' : 'A')
  return [
    'jenchat=',
    'jenchat=garbage',
    `jenchat=${id}`,
    `jenchat=${id}.`,
    `jenchat=${id}.${flip(signature)}`,
    `jenchat=${flip(id)}.${signature}`,
    `jenchat=${value}${value}`,
    'jenchat=%',
    'jenchat=%E0%A4%A',
    'jenchat=%ff%fe',
    'jenchat=\u0000',
    'jenchat=\u00ff\u00fe',
    'jenchat="quoted"',
    `jenchat=${'a'.repeat(4096)}.${'b'.repeat(4096)}`,
    'jenchat=a; jenchat=b',
    '__Host-jenchat=' + value,
    `jenchat=garbage; jenchat=${id}.${signature}`,
    '=;=;;;',
    ';;;',
    'a=b; ' + Array.from({ length: 500 }, (_, i) => `c${i}=${i}`).join('; '),
    ...OBJECT_KEYS.map((key) => `${key}=x`)
  ]
}

function buildCases (person: Person): FuzzCase[] {
  const f = fuzzer(SEED)
  const cases: FuzzCase[] = []
  const both: Credentials[] = ['none', 'person']
  const garbled = garbledCookies(person.cookie)
  const form = (payload: string | Buffer, extra: Record<string, string> = {}): Partial<FuzzCase> =>
    ({ headers: { 'content-type': FORM, ...extra }, payload })

  // Wrong methods on every route (and on an unknown one); HEAD on the GET routes is fine.
  for (const url of [...GET_ROUTES, '/nope.php']) {
    for (const credentials of both) {
      for (const method of WRONG_METHODS) cases.push({ label: 'wrong method', method, url, credentials })
      if (!POST_ROUTES.includes(url)) {
        cases.push({ label: 'POST to a GET route', method: 'POST', url, credentials, ...form('message=hi&who=bob') })
      }
      if (url !== '/nope.php') cases.push({ label: 'HEAD', method: 'HEAD', url, credentials, valid: true })
    }
  }
  for (const url of POST_ROUTES) {
    for (const method of WRONG_METHODS) {
      cases.push({ label: 'wrong method with a form', method, url, credentials: 'person', ...form(`message=hi&token=${person.token}`) })
    }
  }

  // Bodies: too big, not urlencoded, malformed, fields missing or repeated.
  const token = `token=${person.token}`
  const bodies: Array<[string, Partial<FuzzCase>]> = [
    ['8 KiB + 1', form('message=' + 'a'.repeat(8 * 1024 - 7))],
    ['100 KiB', form(`${token}&message=` + 'a'.repeat(100 * 1024))],
    ['1 MiB', form('who=' + 'b'.repeat(1024 * 1024))],
    ['lying content-length', form('who=a!bcdef', { 'content-length': '5' })],
    ['negative content-length', form('who=a!b', { 'content-length': '-1' })],
    ['junk content-length', form('who=a!b', { 'content-length': 'abc' })],
    ['empty body', form('')],
    ['bare %', form('%')],
    // PHP's urldecode() keeps a broken escape as typed, and so does the parser: these are stored.
    ['bad % in value', { ...form(`${token}&message=%`), valid: true }],
    ['bad %zz in value', { ...form(`${token}&message=50%zz`), valid: true }],
    ['truncated escape', { ...form(`${token}&message=%E0%A4%A`), valid: true }],
    ['bad % in key', form('%=x&%zz=y')],
    ['lone &', form('&')],
    ['lone =', form('=')],
    ['separators only', form('&&&===&=&')],
    ['key without value', form('message&token')],
    ['repeated message', form(`${token}&message=a&message=b`)],
    ['repeated token', form(`${token}&${token}&message=a`)],
    ['repeated who', form('who=alpha&who=beta')],
    ['message[]', form(`${token}&message[]=a`)],
    ['message[a]', form(`${token}&message[a]=a`)],
    ['who[]', form('who[]=alpha')],
    ['who[a]', form('who[a]=alpha')],
    ['missing message', form(token)],
    ['missing token', form('message=hi')],
    ['wrong token', form('token=AAAAAAAAAAAAAAAAAAAAAAAA&message=hi')],
    ['token of other length', form('token=x&message=hi')],
    ['missing who', form('message=hi')],
    ['__proto__ fields', form('__proto__[who]=alpha&__proto__=x&constructor[prototype][who]=alpha')],
    ['NUL bytes', form(Buffer.from('who=a\u0000b&message=a\u0000b\u0000', 'utf8'))],
    ['invalid UTF-8', form(Buffer.concat([Buffer.from('who=a'), Buffer.from([0xff, 0xfe, 0xc3]), Buffer.from('&message=x'), Buffer.from([0xed, 0xa0, 0x80])]))],
    ['UTF-16 body', form(Buffer.from('who=alpha', 'utf16le'), { 'content-type': `${FORM}; charset=utf-16` })],
    ['JSON', { headers: { 'content-type': 'application/json' }, payload: JSON.stringify({ who: 'alpha', message: 'hi', token: person.token }) }],
    ['bad JSON', { headers: { 'content-type': 'application/json' }, payload: '{"who":' }],
    ['empty JSON', { headers: { 'content-type': 'application/json' }, payload: '' }],
    ['multipart', {
      headers: { 'content-type': 'multipart/form-data; boundary=XyZ' },
      payload: `--XyZ\r\nContent-Disposition: form-data; name="who"\r\n\r\nalpha\r\n--XyZ\r\nContent-Disposition: form-data; name="message"\r\n\r\nhi\r\n--XyZ--\r\n`
    }],
    ['broken multipart', { headers: { 'content-type': 'multipart/form-data' }, payload: '--\r\n\r\n' }],
    ['text/plain', { headers: { 'content-type': 'text/plain' }, payload: `who=alpha&message=hi&${token}` }],
    ['application/xml', { headers: { 'content-type': 'application/xml' }, payload: '<who>alpha</who>' }],
    ['no content-type', { payload: `who=alpha&message=hi&${token}` }],
    ['junk content-type', { headers: { 'content-type': ';;;=' }, payload: 'who=alpha' }],
    ['*/* content-type', { headers: { 'content-type': '*/*' }, payload: 'who=alpha' }],
    ['octet-stream', { headers: { 'content-type': 'application/octet-stream' }, payload: Buffer.from([0, 1, 2, 255]) }],
    ['gzip body', form(Buffer.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0]), { 'content-encoding': 'gzip' })]
  ]
  for (const url of POST_ROUTES) {
    for (const credentials of both) {
      for (const [label, request] of bodies) cases.push({ label, method: 'POST', url, credentials, ...request })
    }
  }

  // Random bodies: random content types and fields, and a `who` that is never a valid handle.
  const contentTypes = [FORM, FORM, FORM, `${FORM}; charset=utf-8`, `${FORM}; charset=latin1`, 'APPLICATION/X-WWW-FORM-URLENCODED',
    'application/json', 'text/plain', 'multipart/form-data; boundary=a', '', 'text/html', 'application/x-www-form-urlencoded-not']
  for (let i = 0; i < 150; i++) {
    const fields: Buffer[] = []
    for (let n = f.int(5); n >= 0; n--) {
      const name = f.pick(['message', 'who', 'token', 'c', ...OBJECT_KEYS, randomText(f, 1 + f.int(3))])
      const value = name === 'who' ? Buffer.from(invalidHandle(f)) : randomBytes(f, f.int(8))
      fields.push(Buffer.concat([Buffer.from(name), f.chance(0.9) ? Buffer.from('=') : Buffer.alloc(0), value]))
    }
    const separator = Buffer.from(f.pick(['&', '&', '&', '&&', ';', '&=&']))
    const payload = Buffer.concat(fields.flatMap((field, index) => index === 0 ? [field] : [separator, field]))
    const contentType = f.pick(contentTypes)
    cases.push({
      label: 'random body',
      method: 'POST',
      url: f.pick(POST_ROUTES),
      credentials: f.pick<Credentials>(['none', 'person', 'person', 'garbled']),
      headers: contentType === '' ? {} : { 'content-type': contentType },
      payload
    })
  }

  // Absurd query strings on the GET routes: all harmless, so any normal answer is fine.
  const queries = [
    Array.from({ length: 5000 }, (_, i) => `p${i}=${i}`).join('&'),
    Array.from({ length: 3000 }, () => 'c=1').join('&'),
    'x=' + 'a'.repeat(10 * 1024),
    'c=' + '9'.repeat(10 * 1024),
    'c[]=1', 'c[a]=1', 'c[__proto__]=1', 'c=-1', 'c=1e9', 'c=99999999999', 'c=4294967296', 'c=0x10', 'c=NaN', 'c=%00', 'c=1%00',
    'c=&c=', 'c', '&', '=', '&&&&', '==', '?', '??', '%', '%%', '%zz', '%ff', 'a=%ff%fe', 'a=%ED%A0%80', '%00=%00',
    'logout', 'logout=', 'logout[]=true', 'logout=TRUE', 'logout=true%00', 'logout=1',
    'reason=expired', 'reason=%3Cscript%3E', 'notice=expired', 'notice=<script>', 'notice=%22%3E%3Cscript%3E',
    ...OBJECT_KEYS.flatMap((key) => [`notice=${key}`, `reason=${key}`, `c=${key}`, `${key}=1`, `${key}[c]=1`]),
    'a=\u0000', 'a=\u00ff', 'a=\ud83d\ude00', 'a=\u202e'
  ]
  for (const url of GET_ROUTES) {
    for (const query of queries) {
      cases.push({ label: 'odd query', method: 'GET', url: `${url}?${query}`, credentials: f.pick<Credentials>(['none', 'person', 'garbled']), valid: true })
    }
  }
  for (let i = 0; i < 120; i++) {
    const pairs = Array.from({ length: 1 + f.int(6) }, () => randomText(f, 1 + f.int(4)))
    let query = pairs.join('&')
    // The one query that does something: ending the session of the participant we keep.
    query = query.replace(/logout=true/g, 'logout=untrue')
    cases.push({ label: 'random query', method: 'GET', url: `${f.pick(GET_ROUTES)}?${query}`, credentials: f.pick<Credentials>(['none', 'person', 'garbled']), valid: true })
  }

  // Unknown paths and path traversal: nothing but the five pages exists.
  const paths = [
    '/nope', '/index.php', '/admin', '/login', '/chat', '/LOGIN.PHP', '/Chat.php', '/login.php/', '/chat.php/', '//chat.php',
    '///login.php', '/./chat.php', '/chat.php/.', '/chat.php/..', '/../chat.php', '/../../etc/passwd', '/..%2f..%2fetc%2fpasswd',
    '/%2e%2e/%2e%2e/etc/passwd', '/%2e%2e%2f%2e%2e%2fpackage.json', '/..\\..\\package.json', '/%c0%ae%c0%ae/package.json',
    '/thread.php/../chat.php', '/login.php/../../src/app.ts', '/chat.php%00.html', '/chat.php%00', '/chat.php;x=1', '/chat.php%3Fa',
    '/package.json', '/.env', '/.git/config', '/src/app.ts', '/views/login.ts', '/sql/schema.sql', '/node_modules/fastify/package.json',
    '/contents.html/..', '/contents.html%2f', '/%', '/%zz', '/%ff', '/%ED%A0%80', '/%00', '/\u0000', '/\u00ff', '/\ud83d\ude00',
    '/' + 'a'.repeat(5000), '/a/'.repeat(1000), '/login.php/' + '../'.repeat(50), '/*', '*', '/~root', '/cgi-bin/test.cgi',
    ...OBJECT_KEYS.map((key) => `/${key}`)
  ]
  for (const path of paths) {
    // inject() resolves dot segments as a browser would ("/a/../chat.php" is "/chat.php"), so some
    // of these reach a page; the raw requests below send them to the server as they are.
    const resolved = new URL(path, 'http://localhost').pathname
    const method = f.pick(['GET', 'GET', 'POST', 'HEAD'])
    const valid = resolved !== path && (method === 'POST' ? POST_ROUTES : GET_ROUTES).includes(resolved)
    for (const credentials of both) cases.push({ label: 'unknown path', method, url: path, credentials, valid })
  }

  // Garbled cookies on every page: not logged in, whatever the pages answer to that.
  for (const cookie of garbled) {
    for (const url of GET_ROUTES) cases.push({ label: 'garbled cookie', method: 'GET', url, credentials: 'garbled', headers: { cookie }, valid: true })
    cases.push({ label: 'garbled cookie', method: 'POST', url: '/post.php', credentials: 'garbled', ...form(`message=hi&${token}`, { cookie }) })
  }
  return cases
}

interface RawCase {
  label: string
  /** The request line, e.g. "GET /x HTTP/1.1", as bytes when they are not text. */
  line: string | Buffer
  headers?: Array<string | Buffer>
  body?: string | Buffer
  credentials: Credentials
  valid?: boolean
}

/**
 * Requests inject() can't make: paths as sent (no dot-segment resolution), bytes that are not
 * UTF-8 or are NUL in the request line and headers, and HTTP that Node's parser refuses.
 */
function buildRawCases (): RawCase[] {
  const get = (target: string | Buffer, credentials: Credentials = 'none', valid = false): RawCase =>
    ({ label: 'raw path', line: Buffer.concat([Buffer.from('GET '), Buffer.from(target), Buffer.from(' HTTP/1.1')]), credentials, valid })
  const bytes = (...parts: Array<string | number[]>): Buffer =>
    Buffer.concat(parts.map((part) => typeof part === 'string' ? Buffer.from(part, 'latin1') : Buffer.from(part)))
  const form = `Content-Type: ${FORM}`
  const cases: RawCase[] = []
  for (const credentials of ['none', 'person'] as const) {
    cases.push(
      get('/../chat.php', credentials), get('/../../../etc/passwd', credentials), get('/%2e%2e/chat.php', credentials),
      get('/%2e%2e%2fpackage.json', credentials), get('/chat.php/..', credentials), get('/./chat.php', credentials),
      get('//chat.php', credentials), get('/login.php/', credentials), get('/thread.php/../chat.php', credentials),
      get('/login.php/../../src/app.ts', credentials), get('/..%5c..%5cpackage.json', credentials), get('/src/app.ts', credentials),
      get('/login.php%00', credentials), get('/%ff', credentials), get(bytes('/', [0xff, 0xfe]), credentials),
      get(bytes('/chat.php', [0xc0, 0xae, 0xc0, 0xae]), credentials),
      get(bytes('/login.php?who=', [0xff, 0xed, 0xa0, 0x80], '&c=', [0xc3]), credentials, true),
      get(bytes('/thread.php?c=1', [0x80]), credentials, true),
      get('/' + 'a'.repeat(20_000), credentials)
    )
  }
  cases.push(
    get(bytes('/', [0])), get(bytes('/login.php?a=', [0])), get(bytes('/login.php?a=', [0x7f]), 'none', true),
    { label: 'raw cookie bytes', line: 'GET /chat.php HTTP/1.1', headers: [bytes('Cookie: jenchat=', [0xff, 0xfe, 0xed, 0xa0, 0x80])], credentials: 'none', valid: true },
    { label: 'NUL in cookie', line: 'GET /chat.php HTTP/1.1', headers: [bytes('Cookie: jenchat=a', [0], 'b')], credentials: 'none' },
    { label: 'NUL in a header', line: 'GET /login.php HTTP/1.1', headers: [bytes('X-Junk: a', [0], 'b')], credentials: 'none' },
    { label: '20 KB cookie', line: 'GET /chat.php HTTP/1.1', headers: ['Cookie: jenchat=' + 'x'.repeat(20_000)], credentials: 'none' },
    { label: 'unknown method', line: 'FOO /login.php HTTP/1.1', credentials: 'none' },
    { label: 'bad version', line: 'GET /login.php HTTP/9.9', credentials: 'none' },
    { label: 'garbage request line', line: 'GET /login.php HTTP/1.1 extra', credentials: 'none' },
    { label: 'not HTTP', line: bytes([0x16, 0x03, 0x01, 0x00, 0xa5, 0x01]), credentials: 'none' },
    { label: 'absolute-form target', line: 'GET http://evil.example/login.php HTTP/1.1', credentials: 'none', valid: true },
    { label: 'asterisk target', line: 'OPTIONS * HTTP/1.1', credentials: 'none' },
    { label: 'HTTP/1.0 without Host', line: 'GET /login.php HTTP/1.0', credentials: 'none', valid: true },
    { label: 'raw body bytes', line: 'POST /login.php HTTP/1.1', headers: [form], body: bytes('who=a', [0, 0xff, 0xed, 0xa0, 0x80]), credentials: 'none' },
    { label: 'raw body bytes', line: 'POST /post.php HTTP/1.1', headers: [form], body: bytes('message=a', [0, 0xff, 0xed, 0xa0, 0x80]), credentials: 'person' },
    { label: '100 KB body', line: 'POST /post.php HTTP/1.1', headers: [form], body: 'message=' + 'a'.repeat(100_000), credentials: 'person' },
    { label: 'bad content-length', line: 'POST /login.php HTTP/1.1', headers: [form, 'Content-Length: abc'], body: 'who=a!b', credentials: 'none' },
    { label: 'two content-lengths', line: 'POST /login.php HTTP/1.1', headers: [form, 'Content-Length: 7', 'Content-Length: 3'], body: 'who=a!b', credentials: 'none' },
    { label: 'smuggling: CL and TE', line: 'POST /login.php HTTP/1.1', headers: [form, 'Content-Length: 7', 'Transfer-Encoding: chunked'], body: '7\r\nwho=a!b\r\n0\r\n\r\n', credentials: 'none' },
    { label: 'bad chunk', line: 'POST /login.php HTTP/1.1', headers: [form, 'Transfer-Encoding: chunked'], body: 'zz\r\nwho=a!b\r\n0\r\n\r\n', credentials: 'none' },
    { label: 'chunked form', line: 'POST /login.php HTTP/1.1', headers: [form, 'Transfer-Encoding: chunked'], body: '7\r\nwho=a!b\r\n0\r\n\r\n', credentials: 'none' }
  )
  return cases
}

interface RawAnswer {
  status: number
  contentType: string | undefined
  body: string
}

/** Sends one raw HTTP request on its own connection; null when the server closed without answering. */
async function sendRaw (port: number, rawCase: RawCase, cookie: string): Promise<RawAnswer | null> {
  const headers = [...(rawCase.headers ?? [])]
  if (!/HTTP\/1\.0$/.test(rawCase.line.toString('latin1'))) headers.unshift('Host: localhost')
  headers.push('Connection: close')
  if (rawCase.credentials === 'person') headers.push(`Cookie: ${cookie}`)
  const body = rawCase.body === undefined ? Buffer.alloc(0) : Buffer.from(rawCase.body)
  if (rawCase.body !== undefined && !headers.some((h) => /^(content-length|transfer-encoding):/i.test(h.toString('latin1')))) {
    headers.push(`Content-Length: ${body.length}`)
  }
  const request = Buffer.concat([
    ...[rawCase.line, ...headers].map((line) => Buffer.concat([Buffer.from(line), Buffer.from('\r\n')])),
    Buffer.from('\r\n'),
    body
  ])
  const received = await new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = []
    const socket = connect(port, '127.0.0.1', () => socket.end(request))
    socket.setTimeout(5000, () => socket.destroy(new Error('no answer within 5 s')))
    socket.on('data', (chunk: Buffer) => chunks.push(chunk))
    // The server may answer and close before it has read a refused body: the answer still counts.
    socket.on('error', (error: NodeJS.ErrnoException) => error.code === 'EPIPE' || error.code === 'ECONNRESET' ? undefined : reject(error))
    socket.on('close', () => resolve(Buffer.concat(chunks)))
  })
  if (received.length === 0) return null
  const text = received.toString('utf8')
  const end = text.indexOf('\r\n\r\n')
  const head = end === -1 ? text : text.slice(0, end)
  let rest = end === -1 ? '' : text.slice(end + 4)
  const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(head)?.[1] ?? 0)
  const contentType = /^content-type: *(.*)$/im.exec(head)?.[1]?.trim()
  if (/^transfer-encoding: *chunked/im.test(head)) {
    let body = ''
    for (let at = 0; ;) {
      const lineEnd = rest.indexOf('\r\n', at)
      const size = parseInt(rest.slice(at, lineEnd), 16)
      if (!(size > 0)) break
      body += rest.slice(lineEnd + 2, lineEnd + 2 + size)
      at = lineEnd + 2 + size + 2
    }
    rest = body
  }
  return { status, contentType, body: rest }
}

const INTERNALS: Array<[string, RegExp]> = [
  ['a stack frame', /\bat \S+ \(|\bat (?:async )?file:/],
  ['an error message', /\b[A-Za-z]*Error:|\bat Object\.|\bundefined is not|\bis not (?:a function|iterable)\b/],
  ['an internal error code', /\bFST_[A-Z_]+|\bER_[A-Z_]{3,}|\bERR_[A-Z_]{3,}|\bE(?:CONNREFUSED|NOENT|ACCES)\b/],
  ['a file path', /node_modules|\/work\/|\/home\/|file:\/\/|\.(?:[cm]?[jt]s|sql):\d+|\bsrc\/[\w-]+\.[jt]s\b/],
  ['SQL', /\b(?:SELECT|INSERT INTO|DELETE FROM|UPDATE \w+ SET)\b/]
]

/**
 * A short plain answer to a bad request: a one-line text (padded with white space to old IE's
 * 512 bytes, see src/error-page-size.ts), or one of our small XHTML pages.
 */
const MAX_TEXT_ERROR = 200
const MIN_ERROR_BYTES = 512
const MAX_HTML_ERROR = 2048

/** What is wrong with the answer to one fuzz request, or [] when nothing is. */
function problemsWith (valid: boolean | undefined, status: number, contentType: string | undefined, body: string, errorLogs: string[], head: boolean): string[] {
  const problems: string[] = []
  const ok = valid === true ? status >= 200 && status < 500 : status >= 400 && status < 500
  if (!ok) problems.push(`status ${status}`)
  if (body.length > 0 && contentType !== 'text/plain; charset=utf-8' && contentType !== 'text/html; charset=utf-8') {
    problems.push(`content-type ${String(contentType)}`)
  }
  if (status >= 400) {
    const limit = contentType?.startsWith('text/plain') === true ? MAX_TEXT_ERROR : MAX_HTML_ERROR
    if (body.trimEnd().length > limit) problems.push(`${body.length}-character answer`)
    if (!head && Buffer.byteLength(body) < MIN_ERROR_BYTES) problems.push(`${Buffer.byteLength(body)}-byte answer (old IE shows its own page)`)
  }
  for (const [what, pattern] of INTERNALS) {
    const match = pattern.exec(body)
    if (match !== null) problems.push(`body shows ${what}: ${JSON.stringify(match[0])}`)
  }
  for (const log of errorLogs) problems.push(`logged an error: ${log}`)
  return problems
}

function describeCase (fuzzCase: FuzzCase): string {
  const show = (value: string, max: number): string => JSON.stringify(value.length > max ? value.slice(0, max) + `…(${value.length})` : value)
  const payload = fuzzCase.payload === undefined
    ? ''
    : ' body ' + show(Buffer.isBuffer(fuzzCase.payload) ? fuzzCase.payload.toString('latin1') : fuzzCase.payload, 60)
  const type = fuzzCase.headers?.['content-type']
  const cookie = fuzzCase.credentials === 'garbled' && fuzzCase.headers?.cookie !== undefined ? ` cookie ${show(fuzzCase.headers.cookie, 40)}` : ''
  return `${fuzzCase.label}: ${fuzzCase.method} ${show(fuzzCase.url, 80)} [${fuzzCase.credentials}]${type === undefined ? '' : ` ${type}`}${cookie}${payload}`
}

let database: TestDatabase
let app: FastifyInstance
/** Error-level log lines of the app: a request answered 4xx after an internal failure is a failure too. */
let errorLogs: string[]

beforeAll(async () => { database = await createTestDatabase() })
afterAll(async () => { await database.drop() })
beforeEach(async () => {
  errorLogs = []
  const stream = new Writable({
    write (chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n')) {
        if (line === '') continue
        const entry = JSON.parse(line) as { level: number, msg?: string, err?: { message?: string } }
        if (entry.level >= 50) errorLogs.push(`${entry.msg ?? ''}${entry.err?.message === undefined ? '' : ` (${entry.err.message})`}`)
      }
      done()
    }
  })
  app = await buildApp(testConfig(database.url, { LOG_LEVEL: 'error' }), { logger: { level: 'error', stream } })
})
afterEach(async () => {
  await app.close()
  await database.clear()
})

describe('bad input', () => {
  it('answers every malformed request with a short 4xx, never a 5xx, and the chat works right after', async () => {
    const carol = new Person(app, 'carol')
    await carol.join()
    const cases = buildCases(carol)

    const address = fuzzer(SEED + 1)
    const failures: string[] = []
    for (const fuzzCase of cases) {
      const headers: Record<string, string> = { ...fuzzCase.headers }
      if (fuzzCase.credentials === 'person') headers.cookie = carol.cookie
      else if (fuzzCase.credentials === 'garbled') headers.cookie ??= address.pick(garbledCookies(carol.cookie))
      const request: InjectOptions = {
        method: fuzzCase.method as InjectOptions['method'],
        url: fuzzCase.url,
        headers,
        // Spread over many addresses, so the refused-login limit doesn't hide what comes after it.
        remoteAddress: `198.51.100.${address.int(256)}`
      }
      if (fuzzCase.payload !== undefined) request.payload = fuzzCase.payload
      const logged = errorLogs.length
      try {
        const response = await app.inject(request)
        const problems = problemsWith(fuzzCase.valid, response.statusCode, response.headers['content-type'] as string | undefined,
          response.body, errorLogs.slice(logged), request.method === 'HEAD')
        if (problems.length > 0) failures.push(`${describeCase(fuzzCase)} → ${problems.join('; ')} — ${JSON.stringify(response.body.slice(0, 120))}`)
      } catch (error) {
        failures.push(`${describeCase(fuzzCase)} → inject threw ${(error as Error).message}`)
      }
    }

    // The same kind of checks on requests sent byte for byte, through a real socket.
    await app.listen({ host: '127.0.0.1', port: 0 })
    const { port } = app.server.address() as AddressInfo
    const rawCases = buildRawCases()
    for (const rawCase of rawCases) {
      const logged = errorLogs.length
      const label = `${rawCase.label}: ${JSON.stringify(rawCase.line.toString('latin1').slice(0, 80))} [${rawCase.credentials}]`
      try {
        const answer = await sendRaw(port, rawCase, carol.cookie)
        if (answer === null) {
          failures.push(`${label} → closed without an answer`)
          continue
        }
        const problems = problemsWith(rawCase.valid, answer.status, answer.contentType, answer.body, errorLogs.slice(logged), rawCase.line.toString('latin1').startsWith('HEAD '))
        if (problems.length > 0) failures.push(`${label} → ${problems.join('; ')} — ${JSON.stringify(answer.body.slice(0, 120))}`)
      } catch (error) {
        failures.push(`${label} → ${(error as Error).message}`)
      }
    }
    expect(failures).toEqual([])
    expect(cases.length + rawCases.length).toBeGreaterThan(500)

    // The participant who was there all along is still in, and newcomers can talk to them.
    const alice = new Person(app, 'alice')
    const bob = new Person(app, 'bob')
    await alice.join()
    await bob.join()
    expect((await alice.say('still here?')).headers.location).toBe('post.php')
    expect(await bob.poll()).toEqual([{ name: 'alice', text: 'still here?' }])
    expect((await bob.say('yes')).headers.location).toBe('post.php')
    expect(await alice.poll()).toEqual([{ name: 'alice', text: 'still here?' }, { name: 'bob', text: 'yes' }])
    const heard = (await carol.poll()).filter((message) => message.name !== 'carol')
    expect(heard).toEqual([{ name: 'alice', text: 'still here?' }, { name: 'bob', text: 'yes' }])
    expect(errorLogs).toEqual([])
  })
})
