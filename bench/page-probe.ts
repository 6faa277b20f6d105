import { randomBytes } from 'node:crypto'
import { browserRequest } from './browser-request.js'
import { CookieJar } from './cookie-jar.js'
import { decodedBody, headerValues, HttpConnection, type HttpResponse } from './http-connection.js'

/** One response of the real server, as the baseline server replays it. */
export interface CapturedPage {
  status: number
  /** Header lines as sent, minus those Node writes itself (Date, Content-Length, Connection, Keep-Alive). */
  headers: Array<[string, string]>
  /** Whether the server sent Node's Connection/Keep-Alive lines (the real poll leaves them out). */
  keepAliveHeaders: boolean
  /** The body as sent (gzip-compressed if the headers say so), base64. */
  bodyBase64: string
  /** Bytes on the wire, headers included. */
  bytes: number
}

export const PAGE_NAMES = ['loginForm', 'login', 'chat', 'contents', 'postFrame', 'emptyPoll', 'post', 'logout'] as const
export type PageName = typeof PAGE_NAMES[number]
export type CapturedPages = Record<PageName, CapturedPage>

const NODE_HEADERS = new Set(['date', 'content-length', 'connection', 'keep-alive', 'transfer-encoding'])

function capture (response: HttpResponse): CapturedPage {
  const headers: Array<[string, string]> = []
  let keepAliveHeaders = false
  for (const line of response.head.split('\r\n').slice(1)) {
    const colon = line.indexOf(':')
    const name = line.slice(0, colon)
    if (name.toLowerCase() === 'connection') keepAliveHeaders = true
    if (!NODE_HEADERS.has(name.toLowerCase())) headers.push([name, line.slice(colon + 1).trim()])
  }
  return { status: response.status, headers, keepAliveHeaders, bodyBase64: response.body.toString('base64'), bytes: response.bytes }
}

/**
 * Walks once through the real server as a browser would and records each page, so that the
 * baseline server can answer with responses of exactly the same size and headers.
 */
export async function probePages (url: URL): Promise<CapturedPages> {
  const connection = new HttpConnection('127.0.0.1', Number(url.port || 80))
  const jar = new CookieJar()
  const base = url.pathname
  const handle = 'probe-' + randomBytes(4).toString('hex')
  const get = async (path: string, form?: string): Promise<HttpResponse> => {
    const request = browserRequest(form === undefined ? 'GET' : 'POST', base + path, url.host, jar.header, form)
    const response = await connection.sendAsync(request)
    jar.store(headerValues(response.head, 'set-cookie'))
    return response
  }
  try {
    const loginForm = await get('login.php')
    const login = await get('login.php', 'who=' + handle)
    if (login.status !== 302) throw new Error(`probe: login answered ${login.status}`)
    const chat = await get('chat.php')
    const token = /name="token" value="([^"]*)"/.exec(decodedBody(chat).toString('latin1'))?.[1]
    if (chat.status !== 200 || token === undefined) throw new Error(`probe: chat.php answered ${chat.status} without a token`)
    const contents = await get('contents.html')
    const postFrame = await get('post.php')
    // The first poll of a busy room may carry messages: follow the cursor until one comes back empty.
    let emptyPoll = await get('thread.php')
    for (let tries = 0; !decodedBody(emptyPoll).includes('location.reload()') && tries < 10; tries++) {
      const next = /var u="([^"]*)"/.exec(decodedBody(emptyPoll).toString('latin1'))?.[1] ?? 'thread.php'
      await new Promise((resolve) => setTimeout(resolve, 1000))
      emptyPoll = await get(next)
    }
    if (!decodedBody(emptyPoll).includes('location.reload()')) throw new Error('probe: no empty poll in 10 s')
    const post = await get('post.php', 'message=probe&token=' + encodeURIComponent(token))
    const logout = await get('login.php?logout=true')
    return {
      loginForm: capture(loginForm),
      login: capture(login),
      chat: capture(chat),
      contents: capture(contents),
      postFrame: capture(postFrame),
      emptyPoll: capture(emptyPoll),
      post: capture(post),
      logout: capture(logout)
    }
  } finally {
    connection.close()
  }
}
