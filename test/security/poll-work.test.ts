import { describe, expect, it } from 'vitest'
import { CACHED_ANSWERS_MAX, CACHED_ANSWERS_MAX_CHARS } from '../../src/room/message-feed.js'
import { Person, parseMessages, useFreshApp } from '../helpers/app.js'
import { es3Problems, xhtmlErrors } from '../helpers/legacy.js'

// A participant may send any cursor from their join point on, and each distinct one used to build
// (and compress) an answer of everything after it. Now an answer holds at most POLL_MAX_MESSAGES
// messages and POLL_MAX_MARKUP_KB of markup, and the answers kept between two publishes are bounded.

const MAX_MESSAGES = 10
const t = useFreshApp({
  POLL_MAX_MESSAGES: String(MAX_MESSAGES),
  POLL_MAX_MARKUP_KB: '4',
  // Flood control would refuse the bursts these tests send on purpose.
  FLOOD_BURST_COUNT: '10000',
  FLOOD_SUSTAINED_COUNT: '10000'
})

async function storedMessages (): Promise<string[]> {
  const rows = await t.database.query<Array<{ Message: string }>>('SELECT Message FROM jenChat_Messages ORDER BY MessageID')
  return rows.map((row) => row.Message)
}

async function storedIds (): Promise<number[]> {
  const rows = await t.database.query<Array<{ MessageID: number }>>('SELECT MessageID FROM jenChat_Messages ORDER BY MessageID')
  return rows.map((row) => row.MessageID)
}

/** The delay of the answer's next poll: 0 when it was cut short, the poll interval when complete. */
function nextPollDelay (body: string): number {
  const match = /setTimeout\("location\.(?:replace\(u\)|reload\(\))",(\d+)\)/.exec(body)
  if (match === null) throw new Error(`no next poll in ${body}`)
  return Number(match[1])
}

async function postEach (person: Person, texts: string[]): Promise<void> {
  for (const text of texts) expect((await person.say(text)).headers.location).toBe('post.php')
}

describe('the work of one poll is capped', () => {
  it('brings a participant far behind up to date exactly once and in order, one capped answer after another', async () => {
    const reader = new Person(t.app, 'reader')
    const writer = new Person(t.app, 'writer')
    await reader.join()
    await writer.join()
    await postEach(writer, Array.from({ length: 35 }, (_, i) => `line ${i}`))
    await t.app.jenchat.room.refresh()

    const received: string[] = []
    const delays: number[] = []
    for (let i = 0; i < 6; i++) {
      const before = reader.cursorUrl
      const response = await reader.request('GET', before)
      expect(response.statusCode).toBe(200)
      delays.push(nextPollDelay(response.body))
      const next = /var u="([^"]+)"/.exec(response.body)
      if (next !== null) reader.cursorUrl = '/' + (next[1] as string)
      const messages = parseMessages(response.body)
      expect(messages.length).toBeLessThanOrEqual(MAX_MESSAGES)
      received.push(...messages.map((message) => message.text))
      if (messages.length > 0) {
        // A cut answer is still a valid frame whose scripts are ES3.
        expect(xhtmlErrors(response.body)).toBe('')
        expect(es3Problems(response.body)).toEqual([])
      }
    }
    expect(received).toEqual(await storedMessages())
    // Three full answers followed at once, then the rest with the ordinary interval, then empty polls.
    expect(delays).toEqual([0, 0, 0, 1000, 1000, 1000])
    // The cursor of a cut answer is the last message it carried.
    const ids = await storedIds()
    expect(reader.cursorUrl).toBe(`/thread.php?c=${ids[ids.length - 1] as number}`)
  })

  it('caps an answer by its markup too, but always carries at least one message', async () => {
    const reader = new Person(t.app, 'reader')
    const writer = new Person(t.app, 'writer')
    await reader.join()
    await writer.join()
    // 255 ampersands are about 1.3 KB of markup each: three fit in 4 KB, a fourth does not.
    await postEach(writer, Array.from({ length: 7 }, (_, i) => String(i) + '&'.repeat(254)))
    await t.app.jenchat.room.refresh()
    const sizes: number[] = []
    for (let i = 0; i < 4; i++) {
      const response = await reader.request('GET', reader.cursorUrl)
      const messages = parseMessages(response.body)
      sizes.push(messages.length)
      const next = /var u="([^"]+)"/.exec(response.body)
      if (next !== null) reader.cursorUrl = '/' + (next[1] as string)
      const markup = /<div id="contents">(.*)<\/div><script/.exec(response.body)?.[1] ?? ''
      expect(markup.length).toBeLessThanOrEqual(4 * 1024)
    }
    expect(sizes).toEqual([3, 3, 1, 0])
  })

  it('answers a spray of cursors with at most N messages each, and keeps the cached answers bounded', async () => {
    const sprayer = new Person(t.app, 'sprayer')
    const writers = ['w1', 'w2', 'w3'].map((name) => new Person(t.app, name))
    await sprayer.join()
    for (const writer of writers) await writer.join()
    for (const writer of writers) await postEach(writer, Array.from({ length: 50 }, (_, i) => `${writer.handle} ${i}`))
    await t.app.jenchat.room.refresh()
    const ids = await storedIds()
    expect(ids).toHaveLength(150)

    const stored = await storedMessages()
    const first = ids[0] as number
    const cursors = [...ids.map((id) => id - 1), ...ids, 0, 4294967295, first + 1000]
    let answered = 0
    for (const cursor of cursors) {
      const response = await sprayer.request('GET', `/thread.php?c=${cursor}`)
      expect(response.statusCode).toBe(200)
      const messages = parseMessages(response.body)
      expect(messages.length).toBeLessThanOrEqual(MAX_MESSAGES)
      // Never anything from before the cursor: the answer starts right after it.
      const expectedFirst = ids.findIndex((id) => id > cursor)
      if (expectedFirst === -1) expect(messages).toEqual([])
      else expect(messages.map((message) => message.text)).toEqual(stored.slice(expectedFirst, expectedFirst + messages.length))
      answered++
      const cache = t.app.jenchat.room.cachedAnswers()
      expect(cache.entries).toBeLessThanOrEqual(CACHED_ANSWERS_MAX)
      expect(cache.chars).toBeLessThanOrEqual(CACHED_ANSWERS_MAX_CHARS)
    }
    expect(answered).toBe(303)
    // 150 distinct first messages were asked for: the cache kept only the most recent ones.
    expect(t.app.jenchat.room.cachedAnswers().entries).toBe(CACHED_ANSWERS_MAX)
  })

  it('shares one answer between made-up cursors that start at the same message', async () => {
    const reader = new Person(t.app, 'reader')
    const writer = new Person(t.app, 'writer')
    await reader.join()
    await writer.join()
    await postEach(writer, ['one', 'two'])
    await t.app.jenchat.room.refresh()
    const { room } = t.app.jenchat
    const ids = await storedIds()
    // Cursors below the first message all start at it.
    const answers = [0, 1, (ids[0] as number) - 1].map((cursor) => room.messagesAfter(cursor))
    expect(answers[0]).not.toBeNull()
    expect(answers[1]).toBe(answers[0])
    expect(answers[2]).toBe(answers[0])
    expect(room.cachedAnswers().entries).toBe(1)
  })
})
