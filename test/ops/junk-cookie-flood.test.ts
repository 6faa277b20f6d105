import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { readFileSync } from 'node:fs'
import { Agent, request } from 'node:http'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { SERVER_NODE_OPTIONS } from '../../bench/target-server.js'
import { createTestDatabase, TEST_SECRET, type TestDatabase } from '../helpers/app.js'

// The attack of issue 10: anonymous polls, each with a different junk session cookie, against the
// server as `npm start` runs it (same entry point, same V8 heap limits). It used to remember every
// cookie value and died of "heap out of memory" within seconds. `npm test` builds dist/ first.

const SERVER = new URL('../../dist/src/server.js', import.meta.url).pathname
/** Bounded in count and time: a few seconds of loopback traffic (≈ 8 s on a quiet machine). */
const FLOOD_REQUESTS = 20_000
const FLOOD_DEADLINE_MS = 20_000
/** Fewer than this in the time allowed (a very busy machine) would prove too little. */
const FLOOD_MIN_REQUESTS = 5000
const CONNECTIONS = 50
/** Just within the 8 KB the server reads of a header block: the largest junk that gets to the app. */
const COOKIE_BYTES = 7000

let database: TestDatabase
/** Killed after the file even if the test was abandoned (a timeout skips its `finally`). */
const children: ChildProcess[] = []
beforeAll(async () => { database = await createTestDatabase() })
afterAll(async () => {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
  await database.drop()
})

/** Resident memory of a process, in MB (Linux). */
function residentMb (pid: number): number {
  const match = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
  return Number(match?.[1] ?? 0) / 1024
}

async function startServer () {
  const child = spawn(process.execPath, [SERVER], {
    env: {
      PATH: process.env.PATH ?? '',
      NODE_OPTIONS: SERVER_NODE_OPTIONS,
      PORT: '0',
      HOST: '127.0.0.1',
      DATABASE_URL: database.url,
      SESSION_SECRET: TEST_SECRET
    },
    stdio: ['ignore', 'pipe', 'pipe']
  })
  children.push(child)
  let output = ''
  child.stdout.on('data', (chunk: Buffer) => { output += chunk.toString() })
  child.stderr.on('data', (chunk: Buffer) => { output += chunk.toString() })
  for (let i = 0; i < 200; i++) {
    const match = /Server listening at http:\/\/127\.0\.0\.1:(\d+)/.exec(output)
    if (match !== null) return { child, port: Number(match[1]), output: () => output }
    if (child.exitCode !== null) break
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  child.kill('SIGKILL')
  throw new Error(`server did not start: ${output}`)
}

/** One GET; resolves to the status, or to 0 when the connection failed. */
async function get (agent: Agent, port: number, path: string, headers: Record<string, string>): Promise<number> {
  return await new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', port, path, agent, headers }, (response) => {
      response.resume()
      response.on('end', () => resolve(response.statusCode ?? 0))
    })
    req.on('error', () => resolve(0))
    // A server busy collecting garbage at its heap limit answers nothing: count it as failed.
    req.setTimeout(5000, () => req.destroy())
    req.end()
  })
}

describe('a flood of distinct junk session cookies', () => {
  it('leaves the server up, answering, with bounded memory', async () => {
    const server = await startServer()
    const pid = server.child.pid as number
    const agent = new Agent({ keepAlive: true, maxSockets: CONNECTIONS })
    try {
      // Warm up (JIT, pools, the first pages) before taking the baseline.
      for (let i = 0; i < 500; i++) expect(await get(agent, server.port, '/thread.php', { cookie: `jenchat=warm${i}` })).toBe(403)
      const baselineMb = residentMb(pid)
      let peakMb = baselineMb
      const sampler = setInterval(() => { if (server.child.exitCode === null) peakMb = Math.max(peakMb, residentMb(pid)) }, 50)

      const statuses = new Map<number, number>()
      const deadline = Date.now() + FLOOD_DEADLINE_MS
      let next = 0
      const started = Date.now()
      await Promise.all(Array.from({ length: CONNECTIONS }, async () => {
        while (next < FLOOD_REQUESTS && Date.now() < deadline) {
          const i = next++
          // Distinct in its first characters, so no two share a prefix a cache could fold.
          const cookie = `jenchat=${i.toString(36)}-${'j'.repeat(COOKIE_BYTES)}`
          const status = await get(agent, server.port, '/thread.php', { cookie })
          statuses.set(status, (statuses.get(status) ?? 0) + 1)
        }
      }))
      clearInterval(sampler)
      const seconds = (Date.now() - started) / 1000
      console.log(`flood: ${next} requests in ${seconds.toFixed(1)} s, RSS ${baselineMb.toFixed(0)} → peak ${peakMb.toFixed(0)} MB`, Object.fromEntries(statuses))

      expect(server.child.exitCode).toBeNull()
      expect(server.output()).not.toContain('heap out of memory')
      expect(Object.fromEntries(statuses)).toEqual({ 403: next })
      expect(next).toBeGreaterThanOrEqual(FLOOD_MIN_REQUESTS)
      // Remembering the cookies would grow the process by all they weigh (140 MB for 20,000); the
      // garbage of answering them doesn't stay.
      const sentMb = next * COOKIE_BYTES / 1024 / 1024
      expect(peakMb - baselineMb).toBeLessThan(Math.max(16, sentMb / 4))
      // Still serving, and a larger header block is refused before the app sees it.
      expect(await get(agent, server.port, '/login.php', {})).toBe(200)
      expect(await get(agent, server.port, '/thread.php', { cookie: `jenchat=${'j'.repeat(15_000)}` })).toBe(431)
    } finally {
      agent.destroy()
      server.child.kill('SIGKILL')
      if (server.child.exitCode === null && server.child.signalCode === null) await once(server.child, 'exit')
    }
  }, 50_000)
})
