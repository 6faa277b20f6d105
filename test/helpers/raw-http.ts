import { connect } from 'node:net'

/**
 * Sends one request byte for byte (what a client library would refuse to send) and returns the
 * raw answer as latin1, one character per byte: it stops when the server closes the connection or
 * when the body announced by Content-Length has arrived.
 */
export async function rawRequest (baseUrl: string, request: string): Promise<string> {
  const socket = connect(Number(new URL(baseUrl).port), '127.0.0.1')
  let answer = ''
  socket.setEncoding('latin1')
  socket.on('data', (chunk: string) => {
    answer += chunk
    const end = answer.indexOf('\r\n\r\n')
    const length = /content-length: (\d+)/i.exec(answer)?.[1]
    if (end >= 0 && length !== undefined && answer.length >= end + 4 + Number(length)) socket.end()
  })
  socket.on('error', () => undefined)
  socket.write(request)
  await new Promise((resolve) => socket.on('close', resolve))
  return answer
}
