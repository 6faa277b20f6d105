/** One browser's cookies for one host: what Set-Cookie stores, what the Cookie header sends back. */
export class CookieJar {
  private readonly cookies = new Map<string, string>()
  /** The Cookie header's value, rebuilt only when a cookie changes (every poll reads it). */
  header = ''

  /** Applies the Set-Cookie headers of a response. Expiry in the past, or Max-Age 0, deletes. */
  store (setCookies: readonly string[], now = Date.now()): void {
    if (setCookies.length === 0) return
    for (const line of setCookies) {
      const [pair = '', ...attributes] = line.split(';')
      const equals = pair.indexOf('=')
      if (equals <= 0) continue
      const name = pair.slice(0, equals).trim()
      const value = pair.slice(equals + 1).trim()
      let expired = value === ''
      for (const attribute of attributes) {
        const [key = '', raw = ''] = attribute.split('=', 2).map((s) => s.trim())
        if (/^max-age$/i.test(key) && Number(raw) <= 0) expired = true
        if (/^expires$/i.test(key) && Date.parse(raw) <= now) expired = true
      }
      if (expired) this.cookies.delete(name)
      else this.cookies.set(name, value)
    }
    this.header = [...this.cookies].map(([name, value]) => `${name}=${value}`).join('; ')
  }
}
