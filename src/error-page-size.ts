/**
 * Internet Explorer 5–8 ("Show friendly HTTP error messages", on by default) replace an error
 * answer whose body is shorter than this with a page of their own: the reader then sees "The page
 * cannot be found" instead of our reason, and a frame loses its script. 512 bytes is the largest of
 * IE's thresholds (400, 404, 406, 500, 501, 505; the others are 256 or 0).
 */
export const MIN_ERROR_BODY_BYTES = 512

/** The body, lengthened with trailing white space (harmless in text and after an XHTML root) when short. */
export function padErrorBody (body: string): string {
  const missing = MIN_ERROR_BODY_BYTES - Buffer.byteLength(body)
  return missing <= 0 ? body : body + ' '.repeat(missing - 1) + '\n'
}
