import { ATTACK_GOALS, type AttackReport, type MixResult } from './attack-run.js'

const value = (n: number | null | undefined): string => n === null || n === undefined || Number.isNaN(n) ? '–' : String(n)
const thousands = (n: number): string => n.toLocaleString('en-US')

/** The most frequent outcomes first ("403 × 31,024, reset × 12"), at most `top` of them. */
function outcomes (counts: Record<string, number>, top = 4): string {
  const sorted = Object.entries(counts).sort(([, a], [, b]) => b - a)
  const shown = sorted.slice(0, top).map(([outcome, n]) => `${outcome} × ${thousands(n)}`)
  if (sorted.length > top) shown.push(`${sorted.length - top} more`)
  return shown.join(', ')
}

function row (result: MixResult): string {
  const { honest, server, attack } = result
  return '| ' + [
    `${result.mix}: ${result.name}${result.restartedBefore ? ' (server restarted)' : ''}`,
    `${(honest.polls.ratio * 100).toFixed(1)} %${honest.pollingAtStart < honest.users ? ` (${thousands(honest.pollingAtStart)} polling)` : ''}`,
    `${value(honest.latencyMs.p99)} / ${value(honest.latencyMs.max)}`,
    `${honest.delivery.lost} / ${honest.delivery.duplicates}`,
    thousands(honest.errors.total),
    value(server.rssPeakMb),
    value(server.cpuPercent),
    server.survived ? 'yes' : `**no** (after ${value(server.diedAfterS)} s)`,
    attack === null ? '–' : `${thousands(attack.requests)} (${thousands(attack.perS)}/s)`,
    attack === null ? '–' : outcomes(attack.outcomes),
    result.recoveryS === null ? 'not within limit' : `${result.recoveryS} s`,
    result.goals.met ? '**met**' : `missed: ${result.goals.misses.join('; ')}`
  ].join(' | ') + ' |'
}

/** Notes an attack keeps beyond its status counts (posts stored, slow clients held, …). */
function details (result: MixResult): string[] {
  const lines: string[] = []
  for (const [id, tally] of Object.entries(result.attack?.byAttack ?? {})) {
    const parts = Object.entries(tally.counters)
      // Attack g counts each kind of request by its answer: those go to the JSON only.
      .filter(([name]) => !name.includes(' → '))
      .map(([name, n]) => `${name} ${thousands(n)}`)
    const stored = tally.counters['posts stored'] ?? 0
    const allowed = tally.counters['flood control allows at most']
    if (allowed !== undefined && stored > allowed) parts.push(`**${stored - allowed} posts more than flood control allows**`)
    if (tally.heldSeconds !== null) {
      parts.push(`slow connections closed by the server after p50 ${tally.heldSeconds.p50} s (max ${tally.heldSeconds.max} s, ${thousands(tally.heldSeconds.count)} of them)`)
    }
    if (result.mix === 'h' || parts.length > 0) parts.unshift(outcomes(tally.outcomes, 6))
    if (parts.length > 0) lines.push(`- ${result.mix === 'h' ? `h/${id}` : id}: ${parts.join('; ')}`)
  }
  if (result.server.death !== null) lines.push(`- ${result.mix}: the server died: ${result.server.death}`)
  const errors = Object.entries(result.honest.errors.byKind)
  if (errors.length > 0) lines.push(`- ${result.mix}: honest errors: ${errors.map(([kind, n]) => `${kind} × ${thousands(n)}`).join(', ')}`)
  return lines
}

/** The attack report as markdown: one row per mix, then what each attack got in detail. */
export function renderAttackMarkdown (report: AttackReport): string {
  const { settings } = report
  const lines: string[] = []
  lines.push(`# Benchmark under attack, ${report.startedAt.slice(0, 16).replace('T', ' ')} UTC`, '')
  if (report.command !== '') lines.push(`Command: \`${report.command}\``, '')
  lines.push(`Machine: ${report.machine.cpus} × ${report.machine.cpuModel}, Node ${report.machine.node}; ` +
    `load average ${report.loadAverage.start.join(' ')} at the start, ${report.loadAverage.end.join(' ')} at the end. ` +
    `${thousands(settings.users)} honest users poll 1 s after each answer and post every ${settings.postIntervalS} s on average ` +
    `from 127.1.x.y (ten to an address); the attacker, from 127.66.0.1, runs each mix for ${settings.attackS} s at ` +
    `≤ ${thousands(settings.rate)} requests/s per attack on ≤ ${settings.connections} connections (${settings.slowClients} slow clients). ` +
    `Goals: the server survives with RSS < ${ATTACK_GOALS.maxRssMb} MB; honest users get ≥ ${ATTACK_GOALS.held.minPollRatio * 100} % of their polls ` +
    `with p99 < ${ATTACK_GOALS.held.maxP99Ms} ms and no lost or duplicate delivery, except all at once: ≥ ${ATTACK_GOALS.allAtOnce.minPollRatio * 100} % ` +
    `of polls and held again within ${ATTACK_GOALS.allAtOnce.maxRecoveryS} s after the attack stops.`, '')
  for (const [i, start] of report.starts.entries()) {
    if (start.polling < settings.users) {
      const errors = Object.entries(start.joinErrors).map(([kind, n]) => `${kind} × ${thousands(n)}`).join(', ')
      lines.push(`${i === 0 ? 'At the start' : `After restart ${i}`} ${thousands(start.polling)} of ${thousands(settings.users)} honest users were polling${errors === '' ? '' : ` (join errors: ${errors})`}.`, '')
    }
  }
  lines.push(report.summary.goalsMet ? '**Every goal met.**' : `**Goals missed:** ${report.summary.misses.join('; ')}.`, '')
  lines.push(
    '| mix | honest polls (of intended) | honest p99 / max ms | lost / dup | honest errors | server RSS peak MB | server CPU % | survived | attack requests (/s) | attack answered | held again after | goals |',
    '|---|---:|---|---|---:|---:|---:|---|---|---|---|---|'
  )
  for (const result of report.mixes) lines.push(row(result))
  lines.push('', 'Honest figures are for the attack\'s window; "held again after" counts from the moment the attack stopped ' +
    '(held = the first 2 s with ≥ 95 % of polls and p99 < 250 ms). Attack outcomes are status codes, or: ' +
    'reset (connection reset), closed (closed without an answer), timeout (no answer in time), refused (nobody listening). ' +
    'Server CPU in % of one core, during the attack.', '')
  const late = report.mixes.filter((result) => result.generator.eventLoopDelayP99Ms > 100 || result.generator.cpuPercent > 90)
  if (late.length > 0) {
    lines.push(`The load generator itself was late in mixes ${late.map((result) => result.mix).join(', ')} (event-loop delay p99 up to ` +
      `${Math.max(...late.map((result) => result.generator.eventLoopDelayP99Ms))} ms): their honest figures include its lateness, ` +
      'and the machine was busy with other work.', '')
  }
  const more = report.mixes.flatMap(details)
  if (more.length > 0) lines.push(...more, '')
  return lines.join('\n')
}
