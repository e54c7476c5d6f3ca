/**
 * A scratch buffer of at least `size` bytes (its old contents are not kept): `scratch` itself,
 * or a new one of at least twice its size. Growing to each new largest blob exactly left a dead
 * buffer behind every few blobs, resident until the thread's collector ran: with frames of
 * ~1 MiB whose sizes creep up, ~4 MB more peak RSS per restore worker.
 */
export function scratchFor(
  scratch: Uint8Array<ArrayBuffer>,
  size: number,
): Uint8Array<ArrayBuffer> {
  return scratch.length >= size ? scratch : new Uint8Array(Math.max(size, 2 * scratch.length));
}
