import { describe, expect, it } from 'vitest'
import { DeliveryTracker, type Presence } from '../../bench/delivery-tracker.js'
import { parseAnswer } from '../../bench/poll-answers.js'
import { WindowStats } from '../../bench/window-stats.js'

// The benchmark's verdict on "lost" and "duplicate" must be right, whatever it caches to be fast.

function body (...texts: string[]): string {
  return '<div id="contents">' + texts.map((t) => `<div><strong>u: </strong>${t}</div>`).join('') + '</div>' +
    '<script type="text/javascript">var u="thread.php?c=9";setTimeout("location.replace(u)",1000)</script>'
}

describe('the delivery tracker', () => {
  it('counts each receiver once per message, duplicates and losses, also when bodies repeat', () => {
    const people: Presence[] = [0, 1, 2].map(() => ({ joinedAt: 0, leftAt: -1 }))
    const tracker = new DeliveryTracker(people)
    const stats = new WindowStats()
    tracker.currentStats = stats
    tracker.posted(0, 1, 10, stats)
    tracker.posted(0, 2, 10, stats)
    const both = parseAnswer(body(DeliveryTracker.text(0, 1), DeliveryTracker.text(0, 2)))

    tracker.deliveredAnswer(both, 0, 20) // the sender
    tracker.deliveredAnswer(both, 1, 20) // the same body again (remembered), another receiver
    tracker.deliveredAnswer(both, 1, 30) // the same receiver again: two duplicates
    tracker.deliveredAnswer(parseAnswer(body(DeliveryTracker.text(0, 1))), 2, 40) // receiver 2 misses 0x2

    expect(stats.deliveries).toBe(5)
    expect(stats.duplicates).toBe(2)
    tracker.settle(0)
    expect(stats.lost).toBe(1)
    tracker.deliveredAnswer(both, 2, 50)
    expect(stats.late).toBe(2)
  })
})
