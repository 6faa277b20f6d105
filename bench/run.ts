import { mkdirSync, writeFileSync } from 'node:fs'
import { renderAttackMarkdown } from './attack-report.js'
import { runAttackBench, type AttackReport } from './attack-run.js'
import { benchSourceDir, runBench, runName, type BenchReport } from './bench.js'
import { parseOptions, USAGE, UsageError } from './cli-options.js'
import { describeStep } from './load-run.js'
import { renderMarkdown } from './report-markdown.js'
import { renderPlot } from './report-plot.js'
import { cleanUpEverything } from './target-server.js'

/** `npm run bench`: runs the benchmark, prints the table, writes bench/results/. */

function resultsDir (): string {
  const dir = new URL('results/', benchSourceDir()).pathname
  mkdirSync(dir, { recursive: true })
  return dir
}

function stampOf (startedAt: string): string {
  return startedAt.replace(/[:.]/g, '-').replace(/-\d{3}Z$/, 'Z')
}

function writeResults (report: BenchReport): string[] {
  const dir = resultsDir()
  const stamp = stampOf(report.startedAt)
  const files = [`${dir}${stamp}.json`, `${dir}latest.md`, `${dir}latest.svg`]
  writeFileSync(files[0] as string, JSON.stringify(report, null, 2) + '\n')
  writeFileSync(files[1] as string, renderMarkdown(report) + '\n')
  writeFileSync(files[2] as string, renderPlot(report))
  return files
}

/** The attack mode's report goes next to the others, named so that it isn't taken for a ramp. */
function writeAttackResults (report: AttackReport): string[] {
  const dir = resultsDir()
  const files = [`${dir}attack-${stampOf(report.startedAt)}.json`, `${dir}attack-latest.md`]
  writeFileSync(files[0] as string, JSON.stringify(report, null, 2) + '\n')
  writeFileSync(files[1] as string, renderAttackMarkdown(report) + '\n')
  return files
}

async function main (): Promise<void> {
  let options
  try {
    options = parseOptions(process.argv.slice(2))
  } catch (error) {
    if (!(error instanceof UsageError)) throw error
    console.error(`${error.message}\n\n${USAGE}`)
    process.exit(2)
  }
  if (options === 'help') {
    console.log(USAGE)
    return
  }
  // An interrupted run still stops its servers and drops its database.
  let interrupted = false
  const interrupt = (): void => {
    if (interrupted) process.exit(130)
    interrupted = true
    console.error('\ninterrupted: stopping the servers')
    cleanUpEverything().finally(() => process.exit(130))
  }
  process.on('SIGINT', interrupt)
  process.on('SIGTERM', interrupt)

  const command = 'npm run bench' + (process.argv.length > 2 ? ' -- ' + process.argv.slice(2).join(' ') : '')
  if (options.attack !== null) {
    const attackReport = await runAttackBench(options, options.attack, command)
    console.log('\n' + renderAttackMarkdown(attackReport))
    console.error(`\nwrote ${writeAttackResults(attackReport).join(', ')}`)
    return
  }
  const report = await runBench(options, command)
  console.log('\n' + renderMarkdown(report))
  for (const run of report.runs) for (const step of run.steps) console.error(`${runName(run)}: ${describeStep(step)}`)
  const files = writeResults(report)
  console.error(`\nwrote ${files.join(', ')}`)
}

main().then(() => process.exit(0), async (error: unknown) => {
  console.error(error)
  await cleanUpEverything()
  process.exit(1)
})
