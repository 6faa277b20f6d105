import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import mysql from 'mysql2/promise'

const MARIADBD = '/usr/sbin/mariadbd'

async function freePort (): Promise<number> {
  return await new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      server.close(() => resolve(typeof address === 'object' && address !== null ? address.port : 0))
    })
  })
}

/**
 * A MariaDB server of the test's own, in a temporary directory, that the test may stop and start:
 * a real restart empties the MEMORY tables and resets AUTO_INCREMENT, which no amount of DELETE on
 * the shared server reproduces, and stopping the shared server would break the other test files.
 */
export interface PrivateMariaDb {
  /** mysql://root@127.0.0.1:PORT/jenchat */
  url: string
  /** Starts the server; `initSql` (one statement a line) runs as it starts, before any client connects. */
  start(options?: { initSql?: string[] }): Promise<void>
  stop(): Promise<void>
  destroy(): Promise<void>
}

export async function createPrivateMariaDb (options: { maxHeapTableSize?: number } = {}): Promise<PrivateMariaDb> {
  const dir = mkdtempSync(join(tmpdir(), 'jenchat-mariadb-'))
  const dataDir = join(dir, 'data')
  const install = spawnSync('mariadb-install-db', [
    '--no-defaults', `--datadir=${dataDir}`, '--auth-root-authentication-method=normal', '--skip-test-db', '--user=root'
  ], { encoding: 'utf8' })
  if (install.status !== 0) throw new Error(`mariadb-install-db failed: ${install.stderr}`)
  const port = await freePort()
  let child: ChildProcess | undefined

  async function waitUntilUp (): Promise<void> {
    const deadline = Date.now() + 20_000
    for (;;) {
      try {
        const connection = await mysql.createConnection({ host: '127.0.0.1', port, user: 'root' })
        await connection.query('CREATE DATABASE IF NOT EXISTS jenchat')
        await connection.end()
        return
      } catch (error) {
        if (Date.now() > deadline) throw error
        await new Promise((resolve) => setTimeout(resolve, 100))
      }
    }
  }

  const instance: PrivateMariaDb = {
    url: `mysql://root@127.0.0.1:${port}/jenchat`,
    async start (startOptions = {}) {
      const args = [
        '--no-defaults', `--datadir=${dataDir}`, `--socket=${join(dir, 'sock')}`, `--port=${port}`,
        '--bind-address=127.0.0.1', '--user=root', '--skip-log-bin', '--innodb-buffer-pool-size=8M',
        `--pid-file=${join(dir, 'pid')}`
      ]
      if (options.maxHeapTableSize !== undefined) args.push(`--max-heap-table-size=${options.maxHeapTableSize}`)
      if (startOptions.initSql !== undefined) {
        const initFile = join(dir, 'init.sql')
        writeFileSync(initFile, startOptions.initSql.join('\n') + '\n')
        args.push(`--init-file=${initFile}`)
      }
      child = spawn(MARIADBD, args, { stdio: 'ignore' })
      await waitUntilUp()
    },
    async stop () {
      const running = child
      child = undefined
      if (running === undefined || running.exitCode !== null) return
      await new Promise<void>((resolve) => {
        running.once('exit', () => resolve())
        running.kill('SIGTERM')
      })
    },
    async destroy () {
      await instance.stop()
      rmSync(dir, { recursive: true, force: true })
    }
  }
  await instance.start()
  return instance
}
