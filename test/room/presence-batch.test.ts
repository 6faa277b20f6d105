import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { FastifyInstance } from 'fastify'
import { createPresenceBatch } from '../../src/room/presence-batch.js'
import { buildTestApp, createTestDatabase, type TestDatabase } from '../helpers/app.js'

describe('the presence batch (real database)', () => {
  let database: TestDatabase
  let app: FastifyInstance
  beforeAll(async () => {
    database = await createTestDatabase()
    app = await buildTestApp(database.url)
  })
  afterAll(async () => {
    await app.close()
    await database.drop()
  })

  it('writes everybody who polled in one batch, and learns who is gone from the rows it did not find', async () => {
    const { users } = app.jenchat
    const alice = await users.claimHandle('alice', 5000) as number
    const bob = await users.claimHandle('bob', 5000) as number
    await database.query("UPDATE jenChat_Users SET LastUpdate = NOW(3) - INTERVAL 20 SECOND")
    const learned: number[][] = []
    const batch = createPresenceBatch({ users, learnWhyGone: async (ids) => { learned.push(ids) } }, { goneMemoryMs: 60_000 })
    batch.markPresent(alice)
    batch.markPresent(bob)
    await users.remove(bob)
    await batch.flush()
    const idle = await database.query<Array<{ UserName: string, idle: number }>>(
      'SELECT UserName, TIMESTAMPDIFF(SECOND, LastUpdate, NOW(3)) AS idle FROM jenChat_Users')
    expect(idle).toEqual([{ UserName: 'alice', idle: 0 }])
    expect(learned).toEqual([[bob]])
    expect(batch.isGone(bob)).toBe(true)
    expect(batch.isGone(alice)).toBe(false)
  })

  it('forgets the gone after goneMemoryMs, and everything on reset', async () => {
    const { users } = app.jenchat
    const carol = await users.claimHandle('carol', 5000) as number
    const batch = createPresenceBatch({ users }, { goneMemoryMs: 0 })
    batch.markGone(999_999)
    batch.markPresent(carol)
    await new Promise((resolve) => setTimeout(resolve, 5))
    await batch.flush()
    expect(batch.isGone(999_999)).toBe(false)
    batch.markGone(123)
    batch.reset()
    expect(batch.isGone(123)).toBe(false)
  })
})
