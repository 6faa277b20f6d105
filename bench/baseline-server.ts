import { readFileSync } from 'node:fs'
import formbody from '@fastify/formbody'
import Fastify, { type FastifyInstance, type FastifyReply } from 'fastify'
import type { CapturedPage, CapturedPages } from './page-probe.js'

/**
 * The ceiling of this machine: a bare Fastify process that answers every page of the chat with the
 * real server's own response (same status, headers and body, captured by the page probe), with no
 * database, no session and no state. Whatever the real server costs beyond this is its own work.
 */
export function buildBaselineApp (pages: CapturedPages): FastifyInstance {
  const app = Fastify({ logger: false, keepAliveTimeout: 75_000 })
  // The form parser is part of the request cost of login.php and post.php in the real server too.
  app.register(formbody)

  const answer = (page: CapturedPage) => {
    const headers = Object.fromEntries(page.headers)
    const body = Buffer.from(page.bodyBase64, 'base64')
    return (reply: FastifyReply): FastifyReply => {
      // As the real poll: no Connection/Keep-Alive lines, which Node adds unless told not to.
      if (!page.keepAliveHeaders) reply.raw.removeHeader('connection')
      return reply.code(page.status).headers(headers).send(body)
    }
  }
  const loginForm = answer(pages.loginForm)
  const logout = answer(pages.logout)
  const login = answer(pages.login)
  const chat = answer(pages.chat)
  const contents = answer(pages.contents)
  const postFrame = answer(pages.postFrame)
  const post = answer(pages.post)
  const emptyPoll = answer(pages.emptyPoll)

  app.get('/login.php', async (request, reply) => {
    const { logout: leaving } = request.query as { logout?: string }
    return leaving === 'true' ? logout(reply) : loginForm(reply)
  })
  app.post('/login.php', async (_request, reply) => login(reply))
  app.get('/chat.php', async (_request, reply) => chat(reply))
  app.get('/contents.html', async (_request, reply) => contents(reply))
  app.get('/post.php', async (_request, reply) => postFrame(reply))
  app.post('/post.php', async (_request, reply) => post(reply))
  app.get('/thread.php', async (_request, reply) => emptyPoll(reply))
  return app
}

async function main (): Promise<void> {
  const pagesFile = process.env.BASELINE_PAGES
  if (pagesFile === undefined) throw new Error('BASELINE_PAGES must name the JSON file written by the page probe')
  const app = buildBaselineApp(JSON.parse(readFileSync(pagesFile, 'utf8')) as CapturedPages)
  const close = (): void => { app.close().then(() => process.exit(0), () => process.exit(1)) }
  process.on('SIGTERM', close)
  process.on('SIGINT', close)
  await app.listen({ port: Number(process.env.PORT ?? 3001), host: process.env.HOST ?? '127.0.0.1' })
}

if (process.argv[1] !== undefined && new URL(import.meta.url).pathname === process.argv[1]) {
  main().catch((error: unknown) => {
    console.error(error)
    process.exit(1)
  })
}
