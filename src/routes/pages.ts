import type { FastifyPluginAsync } from 'fastify'
import { contentsPage } from '../../views/contents.js'
import { frequentRouteLogLevel } from '../config.js'
import { HTML, sendPlain } from '../http.js'
import type { Services } from '../services.js'

export const pageRoutes: FastifyPluginAsync<{ services: Services }> = async (app, { services }) => {
  const contents = contentsPage()

  // Not in the original, whose directory index was whatever the web server chose.
  app.get('/', async (_request, reply) => await reply.redirect('./login.php', 302))

  // Static, and never reloaded by the chat page: caching it is harmless.
  app.get('/contents.html', async (_request, reply) =>
    await reply.header('cache-control', 'public, max-age=3600').type(HTML).send(contents))

  app.get('/healthz', { logLevel: frequentRouteLogLevel(services.config.logLevel) }, async (request, reply) => {
    try {
      await services.db.rows('SELECT 1')
      return sendPlain(reply, 200, 'ok')
    } catch (error) {
      request.log.warn({ err: error }, 'health check: database unreachable')
      return sendPlain(reply, 503, 'database unreachable')
    }
  })
}
