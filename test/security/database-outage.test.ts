import { describe, expect, it } from 'vitest'
import { Person, useAppBehindProxy } from '../helpers/app.js'
import type { TcpProxy } from '../helpers/tcp-proxy.js'

const t = useAppBehindProxy()

/**
 * Far below a connection attempt against a silent network (connectTimeout, 2 s) and far above an
 * answer that did not wait for the database (a few milliseconds, ~100 on a loaded machine).
 */
const WAITED_MS = 1000

async function timed<T> (work: () => Promise<T>): Promise<{ value: T, ms: number }> {
  const started = performance.now()
  const value = await work()
  return { value, ms: performance.now() - started }
}

describe.each([
  ['swallows every packet for 10 s', (p: TcpProxy) => p.blackhole(), 10_000],
  ['refuses connections for 5 s', (p: TcpProxy) => p.refuse(), 5000]
])('the network to the database %s', (_name, breakIt, outageMs) => {
  it('answers fast, keeps polls alive, reports lost posts, and resumes within 2 s', async () => {
    const alice = new Person(t.app, `alice${outageMs}`)
    const bob = new Person(t.app, `bob${outageMs}`)
    await alice.join()
    await bob.join()
    await alice.say('before')
    expect((await bob.poll()).map((m) => m.text)).toEqual(['before'])

    breakIt(t.proxy)
    const end = performance.now() + outageMs
    let slowest = 0
    let posts = 0
    // Requests that need the database (posts, logins) and how many of them waited for it.
    let needingDatabase = 0
    let waited = 0
    while (performance.now() < end) {
      const poll = await timed(async () => await bob.request('GET', bob.cursorUrl))
      expect(poll.value.statusCode).toBe(200)
      expect(poll.value.body).toContain('setTimeout(')
      const post = await timed(async () => await alice.say(`during ${posts++}`))
      expect(post.value.headers.location).toBe('post.php?notice=failed')
      const newcomer = await timed(async () => await t.app.inject({
        method: 'POST', url: '/login.php', payload: 'who=carol', headers: { 'content-type': 'application/x-www-form-urlencoded' }
      }))
      expect(newcomer.value.statusCode).toBe(503)
      expect(newcomer.value.body.trimEnd()).toBe('The chat is unavailable right now. Please try again in a moment.')
      slowest = Math.max(slowest, poll.ms, post.ms, newcomer.ms)
      for (const ms of [post.ms, newcomer.ms]) {
        needingDatabase++
        if (ms >= WAITED_MS) waited++
      }
      await new Promise((resolve) => setTimeout(resolve, 250))
    }
    // No request waited for the database longer than its query/connect timeout (3 s).
    expect(slowest).toBeLessThan(3500)
    // The breaker: once a connection attempt failed, requests fail at once instead of each waiting
    // for a connection attempt of its own (2 s against a network that swallows packets). Only one
    // that arrives as the breaker lets the database be tried again waits (about 1 in 8 here);
    // without the breaker nearly every one does.
    expect(waited, `${waited} of ${needingDatabase} requests waited`).toBeLessThanOrEqual(needingDatabase / 4)
    const notice = await alice.request('GET', 'post.php?notice=failed')
    expect(notice.body).toContain('Your message could not be sent')

    t.proxy.restore()
    const restored = performance.now()
    let delivered: string[] = []
    for (let i = 0; delivered.length === 0 && i < 100; i++) {
      const post = await alice.say(`after ${i}`)
      if (post.headers.location === 'post.php') delivered = (await bob.poll()).map((m) => m.text)
      else await new Promise((resolve) => setTimeout(resolve, 50))
    }
    const resumedMs = performance.now() - restored
    expect(delivered).toHaveLength(1)
    expect(delivered[0]).toMatch(/^after \d+$/)
    expect(resumedMs).toBeLessThan(2000)
    // Nothing that was refused during the outage shows up afterwards.
    expect(await bob.poll()).toEqual([])
  }, 30_000)
})
