import { runCli } from './moderation-cli.js'

// `npm run chat -- COMMAND …`: the moderation commands (moderation-cli.ts), exit code for scripts.
runCli(process.argv.slice(2), process.env, { log: (line) => console.log(line), error: (line) => console.error(line) })
  .then((code) => { process.exitCode = code }, (error: unknown) => {
    console.error(error)
    process.exitCode = 1
  })
