import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { onTestFinished } from 'vitest'

// `npm test` builds dist/ before running vitest; these tests run the real entry point.
export const SERVER = new URL('../../dist/src/server.js', import.meta.url).pathname

export interface ServerProcess {
  child: ChildProcess
  /** Everything it wrote to stdout and stderr so far. */
  output(): string
  /** Resolves with the exit code (or the signal's name) once it has exited and its output is read. */
  exited: Promise<number | string>
}

/**
 * `node dist/src/server.js` with only the given environment (and PATH). Started inside a test, it
 * is killed with SIGKILL when the test ends, if it is still running; elsewhere, the caller stops it.
 */
export function startServerProcess (env: Record<string, string>): ServerProcess {
  const child = spawn(process.execPath, [SERVER], { env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
  let output = ''
  child.stdout?.on('data', (chunk: Buffer) => { output += chunk.toString() })
  child.stderr?.on('data', (chunk: Buffer) => { output += chunk.toString() })
  // 'close', not 'exit': all it wrote has been read by then (its workers share its stdout).
  const exited = once(child, 'close').then(([code, signal]) => (code as number | null) ?? (signal as string))
  try {
    onTestFinished(() => { if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL') })
  } catch {
    // Not inside a test (e.g. beforeAll).
  }
  return { child, output: () => output, exited }
}

/** Waits for `count` "Server listening" lines (one per process) and returns the URL they listen at. */
export async function waitForListening (server: ServerProcess, count = 1): Promise<string> {
  for (let i = 0; i < 400; i++) {
    const matches = [...server.output().matchAll(/Server listening at (http:\/\/127\.0\.0\.1:\d+)/g)]
    if (matches.length >= count) return (matches[0] as RegExpMatchArray)[1] as string
    if (server.child.exitCode !== null) throw new Error(server.output())
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  throw new Error(`server did not start: ${server.output()}`)
}

/** Waits until the process has written `text` (bounded), e.g. a line of the cluster's primary. */
export async function waitForOutput (server: ServerProcess, text: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!server.output().includes(text)) {
    if (server.child.exitCode !== null || Date.now() > deadline) throw new Error(`no "${text}" in: ${server.output()}`)
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}
