import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { defaultOptions, runBench, type BenchReport } from '../../bench/bench.js'
import type { StepResult } from '../../bench/load-run.js'
import { renderMarkdown } from '../../bench/report-markdown.js'
import { renderPlot } from '../../bench/report-plot.js'

// Keeps the benchmark itself working; it asserts the report's shape and exact delivery, never speed.
// `npm test` builds dist/ first: the benchmark starts dist/src/server.js and dist/bench/baseline-server.js.

const tmpDir = mkdtempSync(join(tmpdir(), 'jenchat-bench-smoke-'))
afterAll(() => { rmSync(tmpDir, { recursive: true, force: true }) })

function expectStepShape (step: StepResult, users: number): void {
  expect(step.users).toBe(users)
  expect(step.joined).toBe(users)
  expect(step.polls.count).toBeGreaterThan(0)
  expect(step.polls.intendedPerS).toBe(users)
  for (const value of Object.values(step.pollLatencyMs)) expect(value).toBeGreaterThanOrEqual(0)
  expect(step.bytes.perPoll).toBeGreaterThan(0)
  expect(step.cpuPercent.server).toEqual(expect.any(Number))
  expect(step.cpuPercent.generator).toEqual(expect.any(Number))
  expect(step.rssMb.server).toBeGreaterThan(0)
  expect(step.errors).toMatchObject({ total: 0, timeouts: 0, warmup: 0 })
}

describe('the benchmark', () => {
  it('ramps a few users on the real server and on the baseline, and reports', { timeout: 120_000 }, async () => {
    const report: BenchReport = await runBench({
      ...defaultOptions(),
      ramp: true,
      runReal: true,
      runBaseline: true,
      steps: [3, 6],
      baselineSteps: [4],
      warmupMs: 500,
      measureMs: 2500,
      graceMs: 3000,
      // Often enough that messages flow in a few seconds, spaced enough that flood control never refuses one.
      postIntervalMs: 3000,
      // Whether 3 users in 2.5 s count as "held" is noise; both steps must run to check their shape.
      stopAtFailure: false,
      tmpDir,
      progress: () => undefined
    })

    expect(report.runs.map((run) => run.label)).toEqual(['jenchat', 'baseline'])
    const [real, baseline] = report.runs as [BenchReport['runs'][number], BenchReport['runs'][number]]
    expect(real.steps.map((step) => step.users)).toEqual([3, 6])
    expect(baseline.steps.map((step) => step.users)).toEqual([4])
    real.steps.forEach((step, i) => expectStepShape(step, [3, 6][i] as number))
    baseline.steps.forEach((step) => expectStepShape(step, 4))

    // Every message reached every participant exactly once.
    const delivered = real.steps.reduce((sum, step) => sum + step.delivery.deliveries, 0)
    expect(delivered).toBeGreaterThan(0)
    for (const step of real.steps) {
      expect(step.delivery).toMatchObject({ tracked: true, lost: 0, duplicates: 0, late: 0, warmupLost: 0, warmupDuplicates: 0 })
    }
    for (const step of baseline.steps) expect(step.delivery.tracked).toBe(false)

    // The baseline answers with the real server's pages: same size on the wire.
    expect(report.pages.emptyPoll.bytes).toBeGreaterThan(0)
    for (const step of baseline.steps) expect(step.bytes.emptyPoll).toBe(report.pages.emptyPoll.bytes)

    expect(report.summary.usersHeld).toEqual(expect.any(Number))
    expect(report.summary.baselineUsersHeld).toEqual(expect.any(Number))
    expect(renderMarkdown(report)).toContain('| jenchat | 6 |')
    const svg = renderPlot(report)
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true)
    expect(svg.trimEnd().endsWith('</svg>')).toBe(true)
  })

  it('runs the real server with WORKERS=1 and WORKERS=2 in one run, CPU and RSS summed over its processes', { timeout: 120_000 }, async () => {
    const report: BenchReport = await runBench({
      ...defaultOptions(),
      ramp: true,
      runReal: true,
      runBaseline: false,
      workers: [1, 2],
      steps: [4],
      warmupMs: 500,
      measureMs: 2000,
      graceMs: 3000,
      postIntervalMs: 3000,
      stopAtFailure: false,
      tmpDir,
      progress: () => undefined
    })

    expect(report.runs.map((run) => [run.label, run.workers])).toEqual([['jenchat', 1], ['jenchat', 2]])
    const [one, two] = report.runs.map((run) => run.steps[0] as StepResult) as [StepResult, StepResult]
    expectStepShape(one, 4)
    expectStepShape(two, 4)
    expect(two.delivery).toMatchObject({ tracked: true, lost: 0, duplicates: 0 })
    // Three processes (primary and two workers) take more memory than one.
    expect(two.rssMb.server).toBeGreaterThan((one.rssMb.server as number) * 1.5)
    expect(renderMarkdown(report)).toContain('| jenchat WORKERS=2 | 4 |')
    expect(report.summary.notes).toContainEqual(expect.stringMatching(/^users held: jenchat \d+, jenchat WORKERS=2 \d+$/))
  })
})
