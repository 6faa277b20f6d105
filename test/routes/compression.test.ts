import { gunzipSync } from 'node:zlib'
import type { FastifyInstance } from 'fastify'
import { describe, expect, it } from 'vitest'
import { Person, useFreshApp } from '../helpers/app.js'
import { xhtmlErrors } from '../helpers/legacy.js'

// Large pages (a busy poll, the chat page) go gzip-compressed to browsers that ask for it and
// handle it; everything else, and every other browser, gets the page as it is.

const fresh = useFreshApp()

const MODERN = 'Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0'
const IE6_BEFORE_SP2 = 'Mozilla/4.0 (compatible; MSIE 6.0; Windows NT 5.1)'
const IE6_SP2 = 'Mozilla/4.0 (compatible; MSIE 6.0; Windows NT 5.1; SV1)'
const NETSCAPE_407 = 'Mozilla/4.07 [en] (WinNT; I)'

/** A room whose next poll carries more than a kilobyte: returns the cookie and cursor of a reader. */
async function busyRoom (app: FastifyInstance): Promise<{ cookie: string, url: string }> {
  const reader = new Person(app, 'reader')
  await reader.join()
  await reader.poll()
  for (const name of ['ann', 'bea']) {
    const writer = new Person(app, name)
    await writer.join()
    for (let i = 0; i < 3; i++) expect((await writer.say(`${name} ${i} ` + 'la '.repeat(80))).statusCode).toBe(302)
  }
  return { cookie: reader.cookie, url: reader.cursorUrl }
}

async function get (app: FastifyInstance, url: string, cookie: string, headers: Record<string, string>) {
  return await app.inject({ method: 'GET', url, headers: { cookie, ...headers } })
}

describe('gzip', () => {
  it('compresses a large poll for a browser that accepts it; the page inside is the same valid XHTML', async () => {
    const { cookie, url } = await busyRoom(fresh.app)
    const plain = await get(fresh.app, url, cookie, { 'user-agent': MODERN })
    const packed = await get(fresh.app, url, cookie, { 'user-agent': MODERN, 'accept-encoding': 'gzip, deflate, br' })

    expect(plain.headers['content-encoding']).toBeUndefined()
    expect(plain.body.length).toBeGreaterThan(1024)
    expect(packed.headers['content-encoding']).toBe('gzip')
    expect(packed.headers.vary).toBe('Accept-Encoding')
    expect(packed.headers['cache-control']).toBe('no-store, no-cache, must-revalidate')
    const unpacked = gunzipSync(packed.rawPayload).toString('utf8')
    expect(unpacked).toBe(plain.body)
    expect(Number(packed.headers['content-length'])).toBe(packed.rawPayload.length)
    expect(packed.rawPayload.length).toBeLessThan(plain.body.length / 2)
    expect(xhtmlErrors(unpacked)).toBe('')
  })

  it('sends the page as it is to browsers that mishandle gzip, and when gzip is refused', async () => {
    const { cookie, url } = await busyRoom(fresh.app)
    const cases: Array<[Record<string, string>, string | undefined]> = [
      [{ 'user-agent': IE6_BEFORE_SP2, 'accept-encoding': 'gzip, deflate' }, undefined],
      [{ 'user-agent': NETSCAPE_407, 'accept-encoding': 'gzip' }, undefined],
      [{ 'user-agent': MODERN, 'accept-encoding': 'gzip;q=0, deflate' }, undefined],
      [{ 'user-agent': MODERN, 'accept-encoding': 'identity' }, undefined],
      [{ 'user-agent': MODERN, 'accept-encoding': '*;q=0.5, gzip;q=0' }, undefined],
      [{ 'user-agent': IE6_SP2, 'accept-encoding': 'gzip, deflate' }, 'gzip'],
      [{ 'user-agent': MODERN, 'accept-encoding': 'x-gzip' }, 'gzip'],
      [{ 'user-agent': MODERN, 'accept-encoding': '*' }, 'gzip']
    ]
    for (const [headers, encoding] of cases) {
      const response = await get(fresh.app, url, cookie, headers)
      expect(response.statusCode, JSON.stringify(headers)).toBe(200)
      expect(response.headers['content-encoding'], JSON.stringify(headers)).toBe(encoding)
    }
  })

  it('leaves small pages alone: the empty poll keeps its bytes and names no Vary', async () => {
    const alice = new Person(fresh.app, 'alice')
    await alice.join()
    const gzipOk = { 'user-agent': MODERN, 'accept-encoding': 'gzip, deflate' }
    const poll = await get(fresh.app, '/thread.php', alice.cookie, gzipOk)
    expect(poll.body).toContain('location.reload()')
    expect(poll.headers['content-encoding']).toBeUndefined()
    expect(poll.headers.vary).toBeUndefined()
    const postFrame = await get(fresh.app, '/post.php', alice.cookie, gzipOk)
    expect(postFrame.headers['content-encoding']).toBeUndefined()
    const chat = await get(fresh.app, '/chat.php', alice.cookie, gzipOk)
    expect(chat.headers['content-encoding']).toBe('gzip')
    expect(gunzipSync(chat.rawPayload).toString('utf8')).toContain('name="token"')
  })
})
