import { spawnSync } from 'node:child_process'
import { once } from 'node:events'
import { readFileSync } from 'node:fs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { SERVER_NODE_OPTIONS } from '../../bench/target-server.js'
import { buildTestApp, createTestDatabase, TEST_SECRET, type TestDatabase } from '../helpers/app.js'
import { SERVER, startServerProcess as startServer, waitForListening } from '../helpers/server-process.js'

let database: TestDatabase
beforeAll(async () => { database = await createTestDatabase() })
afterAll(async () => { await database.drop() })

/**
 * A table's CREATE statement. Not information_schema: MariaDB 10.11 was seen to crash on
 * information_schema queries while other test files dropped their databases.
 */
async function createStatement (database: TestDatabase, table: string): Promise<string> {
  const rows = await database.query<Array<{ 'Create Table': string }>>(`SHOW CREATE TABLE ${table}`)
  return rows[0]?.['Create Table'] ?? ''
}

describe('the server process', () => {
  it('refuses to start on bad configuration, with one line per problem', () => {
    const result = spawnSync(process.execPath, [SERVER], {
      env: { PATH: process.env.PATH ?? '', PORT: '99999', SESSION_SECRET: 'short', DATABASE_URL: database.url },
      encoding: 'utf8'
    })
    expect(result.status).toBe(1)
    expect(result.stderr).toContain('PORT must be between 0 and 65535, got 99999')
    expect(result.stderr).toContain('SESSION_SECRET must be at least 32 characters, got 5')
  })

  it('creates its tables on an empty database, serves, checks its health and shuts down gracefully', async () => {
    const server = startServer({ PORT: '0', HOST: '127.0.0.1', DATABASE_URL: database.url, SESSION_SECRET: TEST_SECRET })
    const baseUrl = await waitForListening(server)
    expect((await fetch(`${baseUrl}/login.php`)).status).toBe(200)
    const health = await fetch(`${baseUrl}/healthz`)
    expect(health.status).toBe(200)
    expect(await health.text()).toBe('ok\n')
    for (const table of ['jenChat_Epoch', 'jenChat_Messages', 'jenChat_Sessions', 'jenChat_Users']) {
      expect(await createStatement(database, table)).toMatch(/\) ENGINE=MEMORY /)
    }
    server.child.kill('SIGTERM')
    const [code] = await once(server.child, 'exit')
    expect(code).toBe(0)
    expect(server.output()).toContain('shutting down')
  })

  it('warns when no SESSION_SECRET is set', async () => {
    const server = startServer({ PORT: '0', HOST: '127.0.0.1', DATABASE_URL: database.url })
    await waitForListening(server)
    expect(server.output()).toContain('SESSION_SECRET is not set')
    server.child.kill('SIGINT')
    await once(server.child, 'exit')
  })

  it('upgrades a database made by the PHP original and keeps its rows', async () => {
    const legacy = await createTestDatabase()
    try {
      await legacy.query(`CREATE TABLE jenChat_Users (UserID int(10) unsigned NOT NULL auto_increment,
        UserName varchar(20) NOT NULL default '', LastUpdate timestamp NOT NULL, PRIMARY KEY (UserID)) ENGINE=MEMORY`)
      await legacy.query(`CREATE TABLE jenChat_Messages (MessageID int(10) unsigned NOT NULL auto_increment,
        UserID int(10) unsigned NOT NULL default '0', Posted timestamp NOT NULL, Message varchar(255) NOT NULL default '',
        PRIMARY KEY (MessageID)) ENGINE=MEMORY`)
      await legacy.query("INSERT INTO jenChat_Users (UserName, LastUpdate) VALUES ('old', NOW())")
      await legacy.query("INSERT INTO jenChat_Messages (UserID, Posted, Message) VALUES (1, NOW(), 'from php')")
      const server = startServer({ PORT: '0', HOST: '127.0.0.1', DATABASE_URL: legacy.url, SESSION_SECRET: TEST_SECRET })
      await waitForListening(server)
      const columns = [...(await createStatement(legacy, 'jenChat_Messages')).matchAll(/^\s+`(\w+)` /gm)].map((m) => m[1])
      expect(columns).toEqual(['MessageID', 'UserID', 'Posted', 'Message', 'UserName'])
      expect(await legacy.query('SELECT Message FROM jenChat_Messages')).toEqual([{ Message: 'from php' }])
      server.child.kill('SIGTERM')
      await once(server.child, 'exit')
    } finally {
      await legacy.drop()
    }
  })
})

describe('tutorial tables in another engine', () => {
  it('are converted to MEMORY at start, keeping their rows, because delivery depends on it', async () => {
    // Followers of the tutorial who skipped its MEMORY advice have MyISAM (or InnoDB) tables.
    const legacy = await createTestDatabase()
    try {
      await legacy.query(`CREATE TABLE jenChat_Users (UserID int(10) unsigned NOT NULL auto_increment,
        UserName varchar(20) NOT NULL default '', LastUpdate timestamp NOT NULL, PRIMARY KEY (UserID)) ENGINE=MyISAM`)
      await legacy.query(`CREATE TABLE jenChat_Messages (MessageID int(10) unsigned NOT NULL auto_increment,
        UserID int(10) unsigned NOT NULL default '0', Posted timestamp NOT NULL, Message varchar(255) NOT NULL default '',
        PRIMARY KEY (MessageID)) ENGINE=InnoDB`)
      await legacy.query("INSERT INTO jenChat_Users (UserName, LastUpdate) VALUES ('old', NOW())")
      await legacy.query("INSERT INTO jenChat_Messages (UserID, Posted, Message) VALUES (1, NOW(), 'from php')")
      const app = await buildTestApp(legacy.url)
      await app.close()
      for (const table of ['jenChat_Users', 'jenChat_Messages']) {
        expect(await createStatement(legacy, table)).toMatch(/\) ENGINE=MEMORY /)
      }
      expect(await legacy.query('SELECT Message FROM jenChat_Messages')).toEqual([{ Message: 'from php' }])
      expect(await legacy.query('SELECT UserName FROM jenChat_Users')).toEqual([{ UserName: 'old' }])
    } finally {
      await legacy.drop()
    }
  })
})

describe('memory settings', () => {
  it('are the same for npm start, the Docker image and the benchmark', () => {
    const root = new URL('../..', import.meta.url)
    const start = (JSON.parse(readFileSync(new URL('package.json', root), 'utf8')) as { scripts: Record<string, string> }).scripts.start
    expect(start).toContain(`NODE_OPTIONS="${SERVER_NODE_OPTIONS} \${NODE_OPTIONS:-}"`)
    expect(readFileSync(new URL('Dockerfile', root), 'utf8')).toContain(`ENV NODE_OPTIONS="${SERVER_NODE_OPTIONS}"`)
  })
})

describe('docker-compose.yml', () => {
  /** `docker-compose config -q` with exactly the given environment (the caller's own left out). */
  function composeConfig (env: Record<string, string>) {
    const result = spawnSync('docker-compose', ['config', '-q'], {
      cwd: new URL('../..', import.meta.url).pathname,
      encoding: 'utf8',
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...env }
    })
    if (result.error !== undefined) throw new Error('docker-compose is not installed (apt-get install docker-compose)')
    return result
  }

  it('is valid for docker-compose when SESSION_SECRET is set', () => {
    const result = composeConfig({ SESSION_SECRET: TEST_SECRET })
    expect(result.stderr).toBe('')
    expect(result.status).toBe(0)
  })

  it('requires SESSION_SECRET instead of supplying a published one', () => {
    const result = composeConfig({})
    expect(result.status).not.toBe(0)
    expect(result.stderr).toContain('set SESSION_SECRET to 32+ random characters, see the README')
  })
})
