import { connect, createServer, type Server, type Socket } from 'node:net'

/**
 * A TCP proxy between the app and MariaDB that a test can break: `refuse()` drops every connection
 * and refuses new ones (the server is gone), `blackhole()` drops every connection and then accepts
 * new ones that never get an answer (a network that swallows packets), `restore()` heals it.
 */
export interface TcpProxy {
  port: number
  /** mysql://… URL like `databaseUrl`, but through the proxy. */
  url(databaseUrl: string): string
  refuse(): void
  blackhole(): void
  restore(): void
  close(): Promise<void>
}

export async function createTcpProxy (target: { host: string, port: number }): Promise<TcpProxy> {
  let mode: 'pass' | 'refuse' | 'blackhole' = 'pass'
  const sockets = new Set<Socket>()
  const track = (socket: Socket): void => {
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
    socket.on('error', () => socket.destroy())
  }
  const dropAll = (): void => { for (const socket of sockets) socket.destroy() }

  const server: Server = createServer((client) => {
    track(client)
    if (mode === 'refuse') { client.destroy(); return }
    if (mode === 'blackhole') return
    const upstream = connect(target.port, target.host)
    track(upstream)
    client.pipe(upstream)
    upstream.pipe(client)
    client.on('close', () => upstream.destroy())
    upstream.on('close', () => client.destroy())
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const address = server.address()
  const port = typeof address === 'object' && address !== null ? address.port : 0

  return {
    port,
    url (databaseUrl: string) {
      const url = new URL(databaseUrl)
      url.hostname = '127.0.0.1'
      url.port = String(port)
      return url.toString()
    },
    refuse () { mode = 'refuse'; dropAll() },
    blackhole () { mode = 'blackhole'; dropAll() },
    restore () { mode = 'pass' },
    async close () {
      dropAll()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    }
  }
}
