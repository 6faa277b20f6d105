/**
 * The request text a browser's frame sends: what every simulated user and the page probe write on
 * their sockets. Like every browser since IE 4 it offers gzip, which the server may use for large
 * pages (a busy room's poll).
 */
export function browserRequest (
  method: 'GET' | 'POST', path: string, hostAndPort: string, cookie: string, form?: string
): string {
  let text = method + ' ' + path + ' HTTP/1.1\r\nHost: ' + hostAndPort +
    '\r\nUser-Agent: jenchat-bench\r\nAccept: text/html\r\nAccept-Encoding: gzip, deflate\r\n'
  if (cookie !== '') text += 'Cookie: ' + cookie + '\r\n'
  if (form === undefined) return text + '\r\n'
  return text + 'Content-Type: application/x-www-form-urlencoded\r\nContent-Length: ' + form.length + '\r\n\r\n' + form
}
