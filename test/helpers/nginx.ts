import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

/*
 * Debian's nginx (/usr/sbin/nginx) with docs/nginx.conf, run as a child process from a temporary
 * prefix: its own pid file, logs and temporary directories, nothing outside that directory. The
 * docs file is used as it is; only its ports change (the app processes' and the one nginx listens on).
 */

export const NGINX = '/usr/sbin/nginx'
export const DOCS_NGINX_CONF = new URL('../../docs/nginx.conf', import.meta.url)

/** The ports docs/nginx.conf names for the two app processes, in order. */
const DOCS_APP_PORTS = [3000, 3001]

export async function freePort (): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1')
  await once(server, 'listening')
  const port = (server.address() as { port: number }).port
  server.close()
  await once(server, 'close')
  return port
}

/** docs/nginx.conf with its ports replaced; fails if the file no longer has the lines to replace. */
export async function templatedDocsConfig (options: { listenPort: number, appPorts: number[] }): Promise<string> {
  let text = await readFile(DOCS_NGINX_CONF, 'utf8')
  const replace = (from: string, to: string): void => {
    if (text.split(from).length !== 2) throw new Error(`docs/nginx.conf should contain "${from}" exactly once`)
    text = text.replace(from, to)
  }
  replace('    listen 80;', `    listen 127.0.0.1:${options.listenPort};`)
  DOCS_APP_PORTS.forEach((port, i) => {
    replace(`server 127.0.0.1:${port} `, `server 127.0.0.1:${options.appPorts[i] as number} `)
  })
  return text
}

/**
 * The main configuration around it, as Debian's /etc/nginx/nginx.conf includes conf.d/*.conf in
 * http { }, plus an access log that names the upstream process of every request.
 */
function mainConfig (dir: string, included: string): string {
  return `daemon off;
worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log info;
${process.getuid?.() === 0 ? 'user nobody nogroup;' : ''}
events { worker_connections 512; }
http {
    log_format upstreams '$request_method|$uri|$status|$upstream_addr|$upstream_status|$http_user_agent';
    access_log ${dir}/access.log upstreams;
    client_body_temp_path ${dir}/client_body;
    proxy_temp_path ${dir}/proxy;
    fastcgi_temp_path ${dir}/fastcgi;
    uwsgi_temp_path ${dir}/uwsgi;
    scgi_temp_path ${dir}/scgi;
    include ${included};
}
`
}

/** Writes the configuration into a fresh temporary prefix; `nginx -t` or a real start use it. */
export async function prepareNginx (options: { appPorts: number[], listenPort?: number }): Promise<{ dir: string, conf: string, listenPort: number }> {
  const dir = await mkdtemp(join(tmpdir(), 'jenchat-nginx-'))
  // The worker process (nobody, when the tests run as root) must reach its temporary directories.
  await chmod(dir, 0o755)
  const listenPort = options.listenPort ?? await freePort()
  await writeFile(join(dir, 'jenchat.conf'), await templatedDocsConfig({ listenPort, appPorts: options.appPorts }))
  const conf = join(dir, 'nginx.conf')
  await writeFile(conf, mainConfig(dir, join(dir, 'jenchat.conf')))
  return { dir, conf, listenPort }
}

function nginxArgs (dir: string, conf: string): string[] {
  // -e: the error log before the configuration is read (else Debian's build would open its default).
  return ['-p', dir + '/', '-c', conf, '-e', join(dir, 'error.log')]
}

/** `nginx -t` on the docs config: status and output. */
export function checkNginxConfig (dir: string, conf: string): { status: number | null, output: string } {
  const result = spawnSync(NGINX, [...nginxArgs(dir, conf), '-t'], { encoding: 'utf8' })
  if (result.error !== undefined) throw new Error(`cannot run ${NGINX} (apt-get install nginx): ${result.error.message}`)
  return { status: result.status, output: result.stdout + result.stderr }
}

export interface RunningNginx {
  url: string
  /** The access log so far: "METHOD|URI|STATUS|UPSTREAM_ADDRS|UPSTREAM_STATUSES|USER_AGENT" per line. */
  accessLog(): Promise<string[]>
  stop(): Promise<void>
}

export async function startNginx (options: { appPorts: number[] }): Promise<RunningNginx> {
  const { dir, conf, listenPort } = await prepareNginx(options)
  const child: ChildProcess = spawn(NGINX, nginxArgs(dir, conf), { stdio: ['ignore', 'pipe', 'pipe'] })
  let output = ''
  child.stdout?.on('data', (chunk: Buffer) => { output += chunk.toString() })
  child.stderr?.on('data', (chunk: Buffer) => { output += chunk.toString() })
  const exited = once(child, 'exit')
  const url = `http://127.0.0.1:${listenPort}`
  for (let i = 0; ; i++) {
    if (child.exitCode !== null) throw new Error(`nginx exited: ${output}${await readFile(join(dir, 'error.log'), 'utf8').catch(() => '')}`)
    try {
      await (await fetch(`${url}/nginx-is-up`)).arrayBuffer()
      break
    } catch {
      if (i > 100) throw new Error('nginx did not start within 5 s')
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
  }
  return {
    url,
    async accessLog () {
      const text = await readFile(join(dir, 'access.log'), 'utf8').catch(() => '')
      return text.split('\n').filter((line) => line !== '')
    },
    async stop () {
      if (child.exitCode === null && child.signalCode === null) {
        // SIGQUIT: nginx's graceful stop.
        child.kill('SIGQUIT')
        const timer = setTimeout(() => child.kill('SIGKILL'), 5000)
        await exited
        clearTimeout(timer)
      }
      await rm(dir, { recursive: true, force: true })
    }
  }
}
