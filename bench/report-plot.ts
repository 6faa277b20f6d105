import { runName, type BenchReport } from './bench.js'

/*
 * A small SVG line chart, written by hand (no chart library): users on x; p99 poll latency on a
 * log scale on the left axis; CPU (server, database, whole machine) on the right axis.
 */

const WIDTH = 640
const HEIGHT = 380
const PLOT = { left: 60, right: 580, top: 42, bottom: 300 }
const LATENCY_DECADES = [1, 10, 100, 1000, 10_000]
const CPU_MAX = 200

const escape = (text: string): string => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')

interface Series {
  name: string
  color: string
  dash: string
  axis: 'latency' | 'cpu'
  /** users, value, whether that step was held */
  points: Array<[number, number, boolean]>
}

export function renderPlot (report: BenchReport): string {
  const series: Series[] = []
  for (const run of report.runs) {
    const real = run.label === 'jenchat'
    // A second real run (WORKERS > 1) in colours of its own.
    const several = run.workers > 1
    const name = runName(run)
    const steps = run.steps
    series.push({
      name: `${name} p99 latency`,
      color: real ? (several ? '#e67e22' : '#c0392b') : '#7f8c8d',
      dash: real ? '' : '6 4',
      axis: 'latency',
      points: steps.map((s) => [s.users, s.pollLatencyMs.p99, s.held])
    })
    if (real) {
      series.push({ name: `${name} server CPU`, color: several ? '#16a085' : '#2471a3', dash: '', axis: 'cpu', points: steps.map((s) => [s.users, s.cpuPercent.server ?? Number.NaN, s.held]) })
      series.push({ name: several ? `database CPU (${name})` : 'database CPU', color: several ? '#82e0aa' : '#27ae60', dash: '', axis: 'cpu', points: steps.map((s) => [s.users, s.cpuPercent.database ?? Number.NaN, s.held]) })
    }
    series.push({ name: `${name} machine CPU`, color: real ? (several ? '#d2b4de' : '#8e44ad') : '#bdc3c7', dash: '2 3', axis: 'cpu', points: steps.map((s) => [s.users, s.cpuPercent.machine, s.held]) })
  }
  const maxUsers = Math.max(1, ...series.flatMap((s) => s.points.map(([x]) => x)))
  const xMax = niceCeiling(maxUsers)
  const x = (users: number): number => PLOT.left + users / xMax * (PLOT.right - PLOT.left)
  const yLatency = (ms: number): number => {
    const clamped = Math.min(Math.max(ms, 1), 10_000)
    return PLOT.bottom - Math.log10(clamped) / 4 * (PLOT.bottom - PLOT.top)
  }
  const yCpu = (percent: number): number => PLOT.bottom - Math.min(percent, CPU_MAX) / CPU_MAX * (PLOT.bottom - PLOT.top)

  const out: string[] = []
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}" viewBox="0 0 ${WIDTH} ${HEIGHT}" font-family="sans-serif" font-size="11">`)
  out.push(`<rect width="${WIDTH}" height="${HEIGHT}" fill="#fff"/>`)
  out.push(`<text x="${WIDTH / 2}" y="16" text-anchor="middle" font-size="13">jenchat-ts: users vs p99 poll latency and CPU (${escape(report.startedAt.slice(0, 10))})</text>`)
  out.push(`<text x="${WIDTH / 2}" y="31" text-anchor="middle" fill="#555">${escape(subtitle(report))}</text>`)
  // grid and axes
  for (const ms of LATENCY_DECADES) {
    const y = yLatency(ms).toFixed(1)
    out.push(`<line x1="${PLOT.left}" y1="${y}" x2="${PLOT.right}" y2="${y}" stroke="#eee"/>`)
    out.push(`<text x="${PLOT.left - 6}" y="${y}" text-anchor="end" dominant-baseline="middle">${ms >= 1000 ? `${ms / 1000} s` : `${ms} ms`}</text>`)
  }
  for (let percent = 0; percent <= CPU_MAX; percent += 50) {
    out.push(`<text x="${PLOT.right + 6}" y="${yCpu(percent).toFixed(1)}" dominant-baseline="middle">${percent} %</text>`)
  }
  for (let i = 0; i <= 5; i++) {
    const users = xMax / 5 * i
    out.push(`<text x="${x(users).toFixed(1)}" y="${PLOT.bottom + 16}" text-anchor="middle">${users.toLocaleString('en-US')}</text>`)
  }
  out.push(`<rect x="${PLOT.left}" y="${PLOT.top}" width="${PLOT.right - PLOT.left}" height="${PLOT.bottom - PLOT.top}" fill="none" stroke="#999"/>`)
  const threshold = yLatency(report.settings.criteria.maxP99Ms).toFixed(1)
  out.push(`<line x1="${PLOT.left}" y1="${threshold}" x2="${PLOT.right}" y2="${threshold}" stroke="#c0392b" stroke-width="0.8" stroke-dasharray="1 3"/>`)
  out.push(`<text x="${PLOT.left + 4}" y="${Number(threshold) - 4}" fill="#c0392b">p99 limit ${report.settings.criteria.maxP99Ms} ms</text>`)
  out.push(`<text x="${(PLOT.left + PLOT.right) / 2}" y="${PLOT.bottom + 32}" text-anchor="middle">simulated users</text>`)
  out.push(`<text transform="translate(14 ${(PLOT.top + PLOT.bottom) / 2}) rotate(-90)" text-anchor="middle">p99 poll latency (log)</text>`)
  out.push(`<text transform="translate(${WIDTH - 8} ${(PLOT.top + PLOT.bottom) / 2}) rotate(90)" text-anchor="middle">CPU (% of one core)</text>`)

  for (const s of series) {
    const points = s.points.filter(([, v]) => Number.isFinite(v))
      .map(([users, v, held]) => ({ x: x(users).toFixed(1), y: (s.axis === 'latency' ? yLatency(v) : yCpu(v)).toFixed(1), held }))
    if (points.length === 0) continue
    const dash = s.dash === '' ? '' : ` stroke-dasharray="${s.dash}"`
    out.push(`<polyline fill="none" stroke="${s.color}" stroke-width="2"${dash} points="${points.map((p) => `${p.x},${p.y}`).join(' ')}"/>`)
    // A step that was not held is drawn hollow.
    for (const p of points) out.push(`<circle cx="${p.x}" cy="${p.y}" r="3" fill="${p.held ? s.color : '#fff'}" stroke="${s.color}"/>`)
  }
  // legend
  series.forEach((s, i) => {
    const lx = PLOT.left + (i % 3) * 175
    const ly = HEIGHT - 28 + Math.floor(i / 3) * 13
    const dash = s.dash === '' ? '' : ` stroke-dasharray="${s.dash}"`
    out.push(`<line x1="${lx}" y1="${ly - 3}" x2="${lx + 18}" y2="${ly - 3}" stroke="${s.color}" stroke-width="2"${dash}/>`)
    out.push(`<text x="${lx + 22}" y="${ly}">${escape(s.name)}</text>`)
  })
  out.push('</svg>')
  return out.join('\n') + '\n'
}

function subtitle (report: BenchReport): string {
  const parts = report.runs.map((run) => `${runName(run)} held ${run.usersHeld.toLocaleString('en-US')}${run.topStepHeld ? '+' : ''}`)
  if (report.summary.ratio !== null) parts.push(`ratio ${report.summary.ratio}`)
  return parts.join(', ') + ' (hollow: step not held)'
}

/** 1, 2 or 5 times a power of ten, at least `value`. */
function niceCeiling (value: number): number {
  const power = 10 ** Math.floor(Math.log10(value))
  for (const factor of [1, 2, 5, 10]) if (factor * power >= value) return factor * power
  return 10 * power
}
