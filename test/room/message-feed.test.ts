import { describe, expect, it } from 'vitest'
import type { StoredMessage } from '../../src/db/messages.js'
import { createMessageFeed } from '../../src/room/message-feed.js'

const render = (message: StoredMessage) => `<div>${message.id}</div>`
const message = (id: number): StoredMessage => ({ id, name: 'alice', text: `line ${id}` })

function feed (options: Partial<Parameters<typeof createMessageFeed>[1]> = {}) {
  return createMessageFeed(render, { retentionMs: 60_000, answerMaxMessages: 1000, answerMaxChars: 100_000, ...options })
}

describe('the message feed', () => {
  it('answers what follows a cursor, in order, and nothing for a cursor at or past the newest', () => {
    const room = feed()
    room.addFetched([message(1), message(2), message(3)])
    expect(room.messagesAfter(1)).toEqual({ html: '<div>2</div><div>3</div>', cursor: 3, complete: true })
    expect(room.messagesAfter(3)).toBeNull()
    expect(room.messagesAfter(99)).toBeNull()
    expect(room.lastId).toBe(3)
  })

  it('shares one answer object between pollers at the same place, also for made-up cursors in a gap', () => {
    const room = feed()
    room.addFetched([message(10), message(20)])
    const answer = room.messagesAfter(10)
    expect(room.messagesAfter(15)).toBe(answer)
    expect(room.cachedAnswers().entries).toBe(1)
  })

  it('cuts an answer at its limits and says more is waiting', () => {
    const room = feed({ answerMaxMessages: 2 })
    room.addFetched([message(1), message(2), message(3)])
    expect(room.messagesAfter(0)).toEqual({ html: '<div>1</div><div>2</div>', cursor: 2, complete: false })
    const byChars = feed({ answerMaxChars: 20 })
    byChars.addFetched([message(1), message(2), message(3)])
    expect(byChars.messagesAfter(0)).toEqual({ html: '<div>1</div>', cursor: 1, complete: false })
  })

  it("ignores fetched rows it already has (a post's own, added while the query ran)", () => {
    const room = feed()
    room.addFetched([message(1)])
    expect(room.addPosted(message(2))).toBe(true)
    room.addFetched([message(2), message(3)])
    expect(room.messagesAfter(0)?.html).toBe('<div>1</div><div>2</div><div>3</div>')
  })

  it('takes a posted message at once only when nothing can be missing before it', () => {
    const room = feed()
    room.addFetched([message(1)])
    expect(room.addPosted(message(3))).toBe(false)
    expect(room.addPosted(message(2))).toBe(true)
    expect(room.messagesAfter(1)?.cursor).toBe(2)
  })

  it('tells publish listeners when new messages became visible, not when nothing changed', () => {
    const room = feed()
    let told = 0
    room.onPublish(() => { told++ })
    room.addFetched([message(1)])
    room.addFetched([])
    expect(told).toBe(1)
    room.addPosted(message(2))
    expect(told).toBe(2)
  })

  it('forgets everything on reset (the database lost its tables)', () => {
    const room = feed()
    room.addFetched([message(1), message(2)])
    room.reset()
    expect(room.lastId).toBe(0)
    expect(room.messagesAfter(0)).toBeNull()
    room.addFetched([message(1)])
    expect(room.messagesAfter(0)?.html).toBe('<div>1</div>')
  })
})
