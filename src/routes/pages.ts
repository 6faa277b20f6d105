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

  // Anyone may call it, so it asks nothing: the room reads the database every ROOM_REFRESH_MS and
  // the pool knows whether its last query got through.
  app.get('/healthz', { logLevel: frequentRouteLogLevel(services.config.logLevel) }, async (_request, reply) => {
    if (services.room.healthy && services.db.reachable) return sendPlain(reply, 200, 'ok')
    return sendPlain(reply, 503, 'database unreachable')
  })
}
