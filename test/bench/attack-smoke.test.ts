import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { MIX_IDS } from '../../bench/attack-mixes.js'
import { renderAttackMarkdown } from '../../bench/attack-report.js'
import { defaultAttackPlan, judge, runAttackBench, type AttackReport, type MixResult } from '../../bench/attack-run.js'
import { defaultOptions } from '../../bench/bench.js'
import { parseOptions, UsageError } from '../../bench/cli-options.js'

// Keeps the attack mode working: every mix runs (a few requests a second, a second each) beside a
// few honest users, and the report says how each was answered. It checks the report's shape and
// exact delivery, never speed. `npm test` builds dist/ first (the server and the attack worker).

const tmpDir = mkdtempSync(join(tmpdir(), 'jenchat-attack-smoke-'))
afterAll(() => { rmSync(tmpDir, { recursive: true, force: true }) })

describe('the attack mode', () => {
  it('runs every mix beside honest users and reports how the server answered', { timeout: 180_000 }, async () => {
    const report: AttackReport = await runAttackBench(
      {
        ...defaultOptions(),
        users: 4,
        warmupMs: 500,
        graceMs: 2000,
        // Often enough that messages flow in each mix, spaced enough that flood control never refuses one.
        postIntervalMs: 2000,
        tmpDir,
        progress: () => undefined
      },
      { ...defaultAttackPlan(), attackMs: 1500, restMs: 200, recoveryMaxMs: 4000, rate: 20, connections: 4, slowClients: 4 }
    )

    expect(report.mixes.map((mix) => mix.mix)).toEqual(['none', ...MIX_IDS])
    const mix = (id: string): MixResult => report.mixes.find((result) => result.mix === id) as MixResult
    for (const result of report.mixes) {
      expect(result.server.survived).toBe(true)
      expect(result.server.rssPeakMb).toBeGreaterThan(0)
      expect(result.honest.polls.answered).toBeGreaterThan(0)
      // Every message reached every honest participant exactly once, attack or not.
      expect(result.honest.delivery).toMatchObject({ lost: 0, duplicates: 0 })
      expect(result.timeline.length).toBeGreaterThan(2)
    }
    expect(report.mixes.reduce((n, result) => n + result.honest.delivery.deliveries, 0)).toBeGreaterThan(0)
    expect(mix('none').attack).toBeNull()

    // Each attack was sent and answered as the server answers such requests.
    const outcomes = (id: string, attack: string): Record<string, number> =>
      mix(id).attack?.byAttack[attack as 'a']?.outcomes ?? {}
    // Junk cookies get a refusal, never a page or a 5xx (403, or 431 from a server that reads less than 16 KB of headers).
    expect(Object.keys(outcomes('a', 'a')).length).toBeGreaterThan(0)
    for (const outcome of Object.keys(outcomes('a', 'a'))) expect(outcome).toMatch(/^(403|431)$/)
    expect(outcomes('b', 'b')['431']).toBeGreaterThan(0)
    expect(outcomes('c', 'c')['302']).toBeGreaterThan(0)
    expect(outcomes('d', 'd')['200']).toBeGreaterThan(0)
    expect(mix('e').attack?.byAttack.e?.counters['posts stored']).toBeGreaterThan(0)
    // Slow clients stay open for the whole (short) mix: the server closes them only after REQUEST_TIMEOUT_MS.
    expect(outcomes('f', 'f')['still open at the end']).toBeGreaterThan(0)
    expect(outcomes('g', 'g')['400']).toBeGreaterThan(0)
    expect(outcomes('g', 'g')['404']).toBeGreaterThan(0)
    expect(Object.keys(mix('h').attack?.byAttack ?? {}).sort()).toEqual(['a', 'b', 'c', 'd', 'e', 'f', 'g'])
    for (const result of report.mixes.slice(1)) expect(result.attack?.requests).toBeGreaterThan(0)

    const markdown = renderAttackMarkdown(report)
    expect(markdown).toContain('| a: junk cookies')
    expect(markdown).toContain('| h: all at once')
  })

  it('judges a mix by the goals: all at once by its polls and its recovery, the others as held', () => {
    const result = (mix: MixResult['mix'], change: (result: MixResult) => void): MixResult => {
      const base: MixResult = {
        mix,
        name: '',
        restartedBefore: false,
        honest: {
          users: 100,
          pollingAtStart: 100,
          polls: { intended: 2000, answered: 1980, ratio: 0.99 },
          latencyMs: { p50: 1, p99: 10, max: 20 },
          errors: { total: 0, byKind: {} },
          delivery: { deliveries: 10, lost: 0, duplicates: 0, late: 0 }
        },
        server: { survived: true, death: null, diedAfterS: null, rssPeakMb: 120, cpuPercent: 50 },
        attack: null,
        recoveryS: 0,
        timeline: [],
        generator: { eventLoopDelayP99Ms: 10, cpuPercent: 10 },
        goals: { met: true, misses: [] }
      }
      change(base)
      return base
    }
    expect(judge(result('a', () => undefined))).toEqual({ met: true, misses: [] })
    expect(judge(result('a', (r) => { r.honest.polls.ratio = 0.9 })).misses).toEqual(['90.0 % of polls'])
    expect(judge(result('b', (r) => { r.honest.latencyMs.p99 = 250 })).misses).toEqual(['p99 250 ms'])
    expect(judge(result('c', (r) => { r.honest.delivery.lost = 2; r.honest.delivery.duplicates = 1 })).misses).toEqual(['2 lost', '1 duplicates'])
    expect(judge(result('d', (r) => { r.server.survived = false; r.server.death = 'signal SIGABRT'; r.server.rssPeakMb = 260 })).misses)
      .toEqual(['server died (signal SIGABRT)', 'RSS 260 MB'])
    expect(judge(result('h', (r) => { r.honest.polls.ratio = 0.85; r.honest.latencyMs.p99 = 900; r.recoveryS = 4.5 }))).toEqual({ met: true, misses: [] })
    expect(judge(result('h', (r) => { r.honest.polls.ratio = 0.75; r.recoveryS = null })).misses)
      .toEqual(['75.0 % of polls', 'not held again within the recovery limit'])
    expect(judge(result('h', (r) => { r.recoveryS = 5.5 })).misses).toEqual(['held again after 5.5 s'])
  })

  it('is chosen with --attack, 2,000 users unless told otherwise', () => {
    const options = parseOptions(['--attack', '--attack-seconds', '5', '--mixes', 'a,h'])
    expect(options).not.toBe('help')
    if (options === 'help') return
    expect(options.users).toBe(2000)
    expect(options.attack).toMatchObject({ attackMs: 5000, mixes: ['a', 'h'], rate: 2000 })
    expect(parseOptions(['--attack', '--users', '30'])).toMatchObject({ users: 30 })
    expect(() => parseOptions(['--attack-seconds', '5'])).toThrow(UsageError)
    expect(() => parseOptions(['--attack', '--mixes', 'a,z'])).toThrow(UsageError)
    expect(() => parseOptions(['--attack', '--ramp'])).toThrow(UsageError)
    expect(parseOptions([])).toMatchObject({ attack: null, users: 1000 })
  })
})
