import { runName, type BenchReport } from './bench.js'
import type { StepResult } from './load-run.js'

const value = (n: number | null): string => n === null || Number.isNaN(n) ? '–' : String(n)

function row (label: string, step: StepResult): string {
  const d = step.delivery
  const cpu = step.cpuPercent
  return '| ' + [
    label,
    step.users,
    `${step.polls.achievedPerS} (${(step.polls.ratio * 100).toFixed(1)} %)`,
    `${value(step.pollLatencyMs.p50)} / ${value(step.pollLatencyMs.p95)} / ${value(step.pollLatencyMs.p99)} / ${value(step.pollLatencyMs.max)}`,
    `${step.errors.total} (${step.errors.timeouts})`,
    d.tracked ? `${value(d.latencyMs.p50)} / ${value(d.latencyMs.p99)}` : 'n/a',
    d.tracked ? `${d.lost} / ${d.duplicates}` : 'n/a',
    value(step.bytes.emptyPoll),
    value(step.bytes.perPoll),
    `${value(step.bytes.perUserPerSIn)} / ${value(step.bytes.perUserPerSOut)}`,
    `${value(cpu.server)} / ${value(cpu.database)} / ${cpu.generator} / ${cpu.machine}`,
    `${value(step.rssMb.server)} / ${value(step.rssMb.database)}`,
    `${value(step.database.queriesPerS)} (${value(step.database.perPoll)})`,
    step.held ? '**yes**' : `no: ${step.failures.join('; ')}`
  ].join(' | ') + ' |'
}

/** The report as markdown: the summary, one table row per step, the pages and the profile. */
export function renderMarkdown (report: BenchReport): string {
  const { summary } = report
  const lines: string[] = []
  const baseline = report.runs.find((run) => run.label === 'baseline')
  const real = report.runs.find((run) => run.label === 'jenchat')
  lines.push(`# Benchmark: ${report.settings.mode === 'ramp' ? 'ramp' : 'one step'}, ${report.startedAt.slice(0, 16).replace('T', ' ')} UTC`, '')
  if (report.command !== '') lines.push(`Command: \`${report.command}\``, '')
  lines.push(`Machine: ${report.machine.cpus} × ${report.machine.cpuModel}, Node ${report.machine.node}. ` +
    `Each user polls 1 s after each answer and posts every ${report.settings.postIntervalS} s on average; ` +
    `${report.settings.warmupS} s warm-up, ${report.settings.measureS} s measured per step. ` +
    `Held = ≥ ${report.settings.criteria.minPollRatio * 100} % of intended polls, p99 < ${report.settings.criteria.maxP99Ms} ms, ` +
    'no error, no lost or duplicate delivery.', '')
  if (real !== undefined) {
    lines.push(`**Users held: ${real.usersHeld}${real.topStepHeld ? ' (largest step; the limit is higher)' : ''}**` +
      (baseline === undefined ? '' : ` — baseline ceiling ${baseline.usersHeld}${baseline.topStepHeld ? '+' : ''}, ratio ${value(summary.ratio)}`) +
      ` — empty poll ${report.pages.emptyPoll.bytes} bytes with headers`, '')
  } else if (baseline !== undefined) {
    lines.push(`**Baseline ceiling: ${baseline.usersHeld}${baseline.topStepHeld ? '+' : ''} users**`, '')
  }
  lines.push(
    '| target | users | polls/s (of intended) | poll latency ms p50 / p95 / p99 / max | errors (timeouts) | delivery ms p50 / p99 | lost / dup | empty poll B | B/poll | B/user/s in / out | CPU % server / db / generator / machine | RSS MB server / db | DB queries/s (per poll) | held |',
    '|---|---:|---:|---|---:|---|---|---:|---:|---|---|---|---|---|'
  )
  for (const run of report.runs) for (const step of run.steps) lines.push(row(runName(run), step))
  lines.push('', 'CPU in % of one core (the machine has ' + report.machine.cpus + '; "machine" counts every process on it; ' +
    '"server" sums the primary and the workers of a run with WORKERS > 1, and so does its RSS). ' +
    'Bytes are counted on the socket, headers included; "in" is what the server sends. ' +
    'DB queries: every statement the database server ran (all its clients) per second, and per poll answered.', '')
  for (const note of summary.notes) lines.push(`- ${note}`)
  if (summary.notes.length > 0) lines.push('')

  lines.push('Pages of the real server on the wire (bytes with headers): ' +
    Object.entries(report.pages).map(([name, page]) => `${name} ${page.bytes}`).join(', ') + '.', '')

  if (report.profile !== null) {
    lines.push(`Server CPU profile (whole run, ${report.profile.busyMs} ms busy), top self time:`, '',
      '| function | where | self ms | % of busy |', '|---|---|---:|---:|')
    for (const hot of report.profile.top.slice(0, 15)) lines.push(`| ${hot.name} | ${hot.where} | ${hot.selfMs} | ${hot.percent} |`)
    lines.push('')
  }
  if (report.serverLog !== null && (report.serverLog.warnings > 0 || report.serverLog.errors > 0)) {
    lines.push(`Server log: ${report.serverLog.warnings} warnings, ${report.serverLog.errors} errors, e.g.: ` +
      report.serverLog.messages.map((m) => `"${m}"`).join(', '), '')
  }
  return lines.join('\n')
}
