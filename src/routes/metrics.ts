import { BlockList, isIP } from 'node:net'
import type { FastifyPluginAsync, FastifyRequest } from 'fastify'
import { normalizeAddress } from '../client-address.js'
import { frequentRouteLogLevel } from '../config.js'
import type { Services } from '../services.js'

/** The addresses of METRICS_ALLOW (validated by loadConfig) as a BlockList, which also matches CIDR ranges. */
function allowList (entries: readonly string[]): BlockList {
  const list = new BlockList()
  for (const entry of entries) {
    const [address = '', prefix] = entry.split('/')
    const type = isIP(address) === 6 ? 'ipv6' : 'ipv4'
    if (prefix === undefined) list.addAddress(address, type)
    else list.addSubnet(address, Number(prefix), type)
  }
  return list
}

/**
 * GET /metrics for Prometheus, only for METRICS_ALLOW; everyone else gets the 404 of an unknown
 * path, so the page doesn't even show that it exists.
 */
export const metricsRoutes: FastifyPluginAsync<{ services: Services }> = async (app, { services }) => {
  const { config, metrics } = services
  const allowed = allowList(config.metricsAllow)

  function mayRead (request: FastifyRequest): boolean {
    // A proxy we were not told to trust forwarded this: request.ip is the proxy's own (often
    // loopback) address, not the client's, and must not open the door.
    if (config.trustProxy === false && request.headers['x-forwarded-for'] !== undefined) return false
    const address = normalizeAddress(request.ip)
    return allowed.check(address, isIP(address) === 6 ? 'ipv6' : 'ipv4')
  }

  app.get('/metrics', { logLevel: frequentRouteLogLevel(config.logLevel) }, async (request, reply) => {
    if (!mayRead(request)) return reply.callNotFound()
    const body = await metrics.render()
    return await reply.type(metrics.contentType).send(body)
  })
}
