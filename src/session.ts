import { timingSafeEqual } from 'node:crypto'
import type { CookieSerializeOptions } from '@fastify/cookie'
import type { FastifyRequest } from 'fastify'
import type { Config } from './config.js'

declare module 'fastify' {
  interface Session {
    userId?: number
    handle?: string
    /** Anti-forgery token of the chat form (post.php checks it). */
    token?: string
    /** The newest MessageID at login: this participant receives what comes after it. */
    joinCursor?: number
  }
}

export interface Participant {
  userId: number
  handle: string
  token: string
  joinCursor: number
}

/** The participant this request's session belongs to, or null when not logged in. */
export function participantOf (request: FastifyRequest): Participant | null {
  return participantIn(request.session as Partial<Record<keyof Participant, unknown>> | null | undefined)
}

/** The participant a session's data describes, or null when it describes none. */
export function participantIn (data: Partial<Record<keyof Participant, unknown>> | null | undefined): Participant | null {
  if (data === null || data === undefined) return null
  const { userId, handle, token, joinCursor } = data
  if (typeof userId !== 'number' || typeof handle !== 'string' || typeof token !== 'string' || typeof joinCursor !== 'number') {
    return null
  }
  return { userId, handle, token, joinCursor }
}

/** `__Host-` binds a Secure cookie to this host and path "/", so a sibling subdomain can't plant one. */
export function sessionCookieName (config: Pick<Config, 'cookieSecure'>): string {
  return config.cookieSecure ? '__Host-jenchat' : 'jenchat'
}

/**
 * The session cookie's attributes. Clearing the cookie must repeat them: a browser keeps a
 * `__Host-` cookie unless the clearing Set-Cookie is Secure too (and Path=/, no Domain).
 */
export function sessionCookieOptions (config: Pick<Config, 'cookieSecure'>) {
  return { path: '/', httpOnly: true, sameSite: 'lax', secure: config.cookieSecure } satisfies CookieSerializeOptions
}

/** Whether `given` is the participant's anti-forgery token (in constant time). */
export function hasToken (participant: Participant, given: string | undefined): boolean {
  if (given === undefined) return false
  const expected = Buffer.from(participant.token)
  const actual = Buffer.from(given)
  return expected.length === actual.length && timingSafeEqual(expected, actual)
}
