import { gzipSync } from 'node:zlib'
import { describe, expect, it } from 'vitest'
import type { HttpResponse } from '../../bench/http-connection.js'
import { messageKey, PollAnswerReader } from '../../bench/poll-answers.js'

// The reader remembers answers by their bytes; it must never hand one body's messages to another.

function poll (cursor: number, ...texts: string[]): string {
  return '<div id="contents">' + texts.map((t) => `<div><strong>u: </strong>${t}</div>`).join('') + '</div>' +
    `<script type="text/javascript">var u="thread.php?c=${cursor}";setTimeout("location.replace(u)",1000)</script>`
}

function response (body: string, gzipped = false): HttpResponse {
  const bytes = gzipped ? gzipSync(body) : Buffer.from(body, 'latin1')
  return { status: 200, head: 'HTTP/1.1 200 OK', body: bytes, gzipped, bytes: bytes.length }
}

describe('the poll answer reader', () => {
  it('reads plain and gzip answers, and gives identical bytes the same answer', () => {
    const reader = new PollAnswerReader()
    const first = reader.read(response(poll(7, 'b1x1', 'b2x5')))
    expect(first).toEqual({ leave: false, next: 'thread.php?c=7', delayMs: 1000, keys: [messageKey(1, 1), messageKey(2, 5)] })
    expect(reader.read(response(poll(7, 'b1x1', 'b2x5')))).toBe(first)
    expect(reader.read(response(poll(7, 'b1x1', 'b2x5'), true))).toEqual(first)
    // Same length, same end, different message: a different answer.
    expect(reader.read(response(poll(7, 'b1x1', 'b2x6'))).keys).toEqual([messageKey(1, 1), messageKey(2, 6)])
  })

  it('reads empty polls and the end of a session', () => {
    const reader = new PollAnswerReader()
    const empty = '<script type="text/javascript">setTimeout("location.reload()",1000)</script>'
    expect(reader.read(response(empty))).toEqual({ leave: false, next: null, delayMs: 1000, keys: [] })
    const leave = '<script type="text/javascript">top.location.replace("./login.php?reason=expired")</script>'
    expect(reader.read(response(leave))).toMatchObject({ leave: true, next: null, delayMs: null })
  })
})
