import { describe, expect, it } from 'vitest'
import { coalesce } from '../../src/room/coalesce.js'

describe('coalesce', () => {
  it('gives callers that arrive during a run the next run, one for all of them', async () => {
    let runs = 0
    const releases: Array<() => void> = []
    const fetches = coalesce(async () => {
      runs++
      await new Promise<void>((resolve) => releases.push(resolve))
    })
    const first = fetches.run()
    expect(fetches.busy).toBe(true)
    // Arrived while the first runs: must not be answered by it (it may have started before their INSERT).
    const late = fetches.run()
    const lateToo = fetches.run()
    expect(late).toBe(lateToo)
    expect(late).not.toBe(first)
    releases[0]?.()
    await first
    await new Promise((resolve) => setTimeout(resolve, 0))
    expect(runs).toBe(2)
    releases[1]?.()
    await late
    expect(runs).toBe(2)
    expect(fetches.busy).toBe(false)
  })

  it('runs the next one after a failed run, and settled() never throws', async () => {
    let runs = 0
    const fetches = coalesce(async () => { runs++; if (runs === 1) throw new Error('database away') })
    const failing = fetches.run()
    const next = fetches.run()
    await expect(failing).rejects.toThrow('database away')
    await next
    await fetches.settled()
    expect(runs).toBe(2)
  })
})
