import { spawnSync } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { SERVER_NODE_OPTIONS } from '../../bench/target-server.js'
import { EXIT_CODES } from '../../src/db/first-run.js'
import { checkNginxConfig, freePort, prepareNginx } from '../helpers/nginx.js'

/*
 * The deployment files in docs/, each checked by its own tool, as an operator's copy would be:
 * nginx -t, systemd-analyze verify, apache2 -t. (docs/nginx.conf also runs for real in nginx.test.ts.)
 */

const DOCS = new URL('../../docs/', import.meta.url)

function run (command: string, args: string[], packageName: string): { status: number | null, output: string } {
  const result = spawnSync(command, args, { encoding: 'utf8' })
  if (result.error !== undefined) throw new Error(`cannot run ${command} (apt-get install ${packageName}): ${result.error.message}`)
  return { status: result.status, output: result.stdout + result.stderr }
}

describe('docs/nginx.conf', () => {
  it('passes nginx -t', async () => {
    const { dir, conf } = await prepareNginx({ appPorts: [await freePort(), await freePort()] })
    try {
      const { status, output } = checkNginxConfig(dir, conf)
      expect(output).toContain('syntax is ok')
      expect(output).not.toContain('[warn]')
      expect(status).toBe(0)
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })
})

describe('docs/jenchat@.service', () => {
  const unit = readFileSync(new URL('jenchat@.service', DOCS), 'utf8')

  it('passes systemd-analyze verify without a warning', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'jenchat-unit-'))
    try {
      // verify checks that ExecStart's program exists. The unit names Debian's /usr/bin/node; on a
      // machine whose node lives elsewhere, the copy checked here names that one (nothing else changes).
      const text = existsSync('/usr/bin/node') ? unit : unit.replace('ExecStart=/usr/bin/node ', `ExecStart=${process.execPath} `)
      await writeFile(join(dir, 'jenchat@.service'), text)
      // A template is verified through an instance of it: the one for port 3000.
      const { status, output } = run('systemd-analyze', ['verify', join(dir, 'jenchat@3000.service')], 'systemd')
      expect(output).toBe('')
      expect(status).toBe(0)
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })

  it('runs the built server with the memory settings of npm start, and is not restarted for what needs the operator', () => {
    expect(unit).toContain('ExecStart=/usr/bin/node /opt/jenchat/dist/src/server.js\n')
    expect(unit).toContain(`Environment="NODE_OPTIONS=${SERVER_NODE_OPTIONS}"\n`)
    const noRestart = [EXIT_CODES.loginRefused, EXIT_CODES.noDatabase, EXIT_CODES.missingPrivilege]
    expect(unit).toContain(`RestartPreventExitStatus=${noRestart.join(' ')}\n`)
    expect(unit).toContain('KillMode=mixed\n')
    expect(unit).toContain('Environment=PORT=%i\n')
  })
})

describe('docs/apache-jenchat.conf', () => {
  it('passes apache2 -t with mod_proxy and mod_proxy_http', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'jenchat-apache-'))
    try {
      const modules = '/usr/lib/apache2/modules'
      const conf = join(dir, 'httpd.conf')
      // The least a server needs to load the snippet, all inside the temporary directory.
      await writeFile(conf, `ServerRoot "${dir}"
ServerName localhost
Listen 127.0.0.1:${await freePort()}
PidFile "${dir}/apache.pid"
ErrorLog "${dir}/error.log"
LoadModule mpm_event_module ${modules}/mod_mpm_event.so
LoadModule authz_core_module ${modules}/mod_authz_core.so
LoadModule proxy_module ${modules}/mod_proxy.so
LoadModule proxy_http_module ${modules}/mod_proxy_http.so
Include "${new URL('apache-jenchat.conf', DOCS).pathname}"
`)
      const { status, output } = run('/usr/sbin/apache2', ['-t', '-d', dir, '-f', conf], 'apache2')
      expect(output.trim()).toBe('Syntax OK')
      expect(status).toBe(0)
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })
})

describe('the README', () => {
  const readme = readFileSync(new URL('../README.md', DOCS), 'utf8')

  it('shows docs/nginx.conf as it is tested', () => {
    expect(readme).toContain('```nginx\n' + readFileSync(new URL('nginx.conf', DOCS), 'utf8') + '```\n')
  })

  it('documents every exit code', () => {
    for (const code of Object.values(EXIT_CODES)) expect(readme).toMatch(new RegExp(`^\\| ${code} \\| \\S`, 'm'))
  })
})
