/**
 * Coalescing for a task that reads shared state (the room's fetch of new messages): any number of
 * callers share one run in flight, and a caller that arrives while one runs gets the next run,
 * which starts after the current one ends. That is what makes a post's "refresh after my INSERT"
 * see its own row: the run it waits for started after the INSERT completed.
 */
export function coalesce (task: () => Promise<void>): { run: () => Promise<void>, readonly busy: boolean, settled: () => Promise<void> } {
  let running: Promise<void> | null = null
  let queued: Promise<void> | null = null

  function run (): Promise<void> {
    if (running === null) {
      running = task().finally(() => { running = null })
      return running
    }
    if (queued === null) {
      const after = running.catch(() => undefined)
      queued = after.then(() => { queued = null; return run() })
    }
    return queued
  }

  return {
    run,
    get busy (): boolean { return running !== null },
    /** Resolves when the run in flight (if any) has ended, whatever its outcome. */
    async settled (): Promise<void> { await running?.catch(() => undefined) }
  }
}
