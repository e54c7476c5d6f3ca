/**
 * What the server can judge about an uploaded object without any key: its shape. A stolen agent
 * credential (and the repository password) lets an attacker upload objects that every reader then
 * trips over; the server cannot authenticate them, but it can refuse the ones that cannot be what
 * their kind says (docs/FORMAT.md):
 *
 * - nothing is empty;
 * - every sealed object (config, index, snapshot) holds at least a nonce, a tag and a plaintext;
 * - a pack ends with `u32le(length of seal(header))`, and that header, of 9 + 42·n plaintext bytes
 *   for n ≥ 1 blobs, plus n sealed blobs of at least 28 bytes each, must fit the object exactly;
 * - key slots are judged apart (`key-slot-admission.ts`): they are small JSON, parsed whole.
 *
 * A pack's magic and version sit inside its sealed header: only a key holder can see them.
 * The check is pure and needs only the object's size and its last bytes, which `TailKeeper`
 * keeps as the body streams by, so the body is never held twice.
 */
import { SEAL_OVERHEAD } from "../crypto/aead.js";
import { HEADER_ENTRY_SIZE, PACK_TRAILER_SIZE } from "../repository/pack.js";
import type { ObjectKind } from "../storage/object-store.js";

/** `"RPAK" || u8 version || u32 n`: the plaintext header before its entries. */
const PACK_HEADER_PREFIX = 9;
/** The sealed header of a one-blob pack: the smallest a real pack has. */
const MIN_SEALED_HEADER = SEAL_OVERHEAD + PACK_HEADER_PREFIX + HEADER_ENTRY_SIZE;
/** Matches what readers accept (pack.ts `MAX_HEADER`): larger headers are never read. */
const MAX_SEALED_HEADER = 16 * 1024 * 1024;
/** One blob, its header and the trailer. */
export const MIN_PACK_BYTES = SEAL_OVERHEAD + MIN_SEALED_HEADER + PACK_TRAILER_SIZE;
/** `"RIDX" || u8 version || u32 packCount`, sealed. */
const MIN_INDEX_BYTES = SEAL_OVERHEAD + 9;
/** A sealed JSON document holds at least `{}`. */
const MIN_SEALED_JSON_BYTES = SEAL_OVERHEAD + 2;

/** Bytes of the object's end the check needs. */
export const TAIL_BYTES = PACK_TRAILER_SIZE;

export interface ShapeProblem {
  /** Machine-readable, for `details.reason`. */
  readonly reason: "empty" | "too-small" | "not-a-pack";
  /** A sentence for the agent's log and the operator. */
  readonly message: string;
}

/** The smallest object of each kind; keys are checked by parsing instead. */
export function minimumSize(kind: ObjectKind): number {
  switch (kind) {
    case "data":
      return MIN_PACK_BYTES;
    case "index":
      return MIN_INDEX_BYTES;
    case "config":
    case "snapshots":
      return MIN_SEALED_JSON_BYTES;
    case "keys":
      return 1;
  }
}

/**
 * What is wrong with an object of `size` bytes, judged on its size alone (before its body is
 * read, from Content-Length); undefined when the size is possible.
 */
export function sizeProblem(kind: ObjectKind, size: number): ShapeProblem | undefined {
  if (size === 0) return { reason: "empty", message: `an empty object cannot be a ${kind} object` };
  const minimum = minimumSize(kind);
  if (size < minimum)
    return {
      reason: kind === "data" ? "not-a-pack" : "too-small",
      message:
        kind === "data"
          ? `${size} bytes cannot be a pack: the smallest (one sealed blob, its sealed header and the 4-byte trailer) has ${minimum}`
          : `${size} bytes cannot be a sealed ${kind} object: it needs at least ${minimum} (nonce, tag and content)`,
    };
  return undefined;
}

/**
 * What is wrong with a whole object, given its size and its last `TAIL_BYTES` bytes (fewer only
 * when the object is shorter); undefined when it has the shape of its kind.
 */
export function shapeProblem(
  kind: ObjectKind,
  size: number,
  tail: Uint8Array,
): ShapeProblem | undefined {
  const bySize = sizeProblem(kind, size);
  if (bySize !== undefined || kind !== "data") return bySize;
  if (tail.length < PACK_TRAILER_SIZE)
    return { reason: "not-a-pack", message: "the pack's 4-byte trailer is missing" };
  const view = Buffer.from(tail.buffer, tail.byteOffset, tail.byteLength);
  const headerLength = view.readUInt32LE(tail.length - PACK_TRAILER_SIZE);
  const notAPack = (why: string): ShapeProblem => ({
    reason: "not-a-pack",
    message: `not a pack: its trailer says the sealed header has ${headerLength} bytes, ${why}`,
  });
  if (headerLength < MIN_SEALED_HEADER)
    return notAPack(`fewer than the ${MIN_SEALED_HEADER} of a one-blob header`);
  if (headerLength > MAX_SEALED_HEADER)
    return notAPack(`more than the ${MAX_SEALED_HEADER} any reader accepts`);
  const entries = (headerLength - SEAL_OVERHEAD - PACK_HEADER_PREFIX) / HEADER_ENTRY_SIZE;
  if (!Number.isInteger(entries))
    return notAPack(
      `which is not ${SEAL_OVERHEAD + PACK_HEADER_PREFIX} + ${HEADER_ENTRY_SIZE}·n for any count n of blobs`,
    );
  const blobArea = size - PACK_TRAILER_SIZE - headerLength;
  if (blobArea < entries * SEAL_OVERHEAD)
    return notAPack(
      `so ${entries} blob(s) of at least ${SEAL_OVERHEAD} bytes each would need ${entries * SEAL_OVERHEAD} bytes before it, and the object leaves ${Math.max(blobArea, 0)}`,
    );
  return undefined;
}

/** Keeps the last `size` bytes of a stream as it goes by, copying at most `size` per chunk. */
export class TailKeeper {
  private readonly tail: Buffer;
  private filled = 0;

  constructor(readonly size: number = TAIL_BYTES) {
    this.tail = Buffer.alloc(size);
  }

  update(chunk: Uint8Array): void {
    if (chunk.length >= this.size) {
      this.tail.set(chunk.subarray(chunk.length - this.size));
      this.filled = this.size;
      return;
    }
    const keep = Math.min(this.filled, this.size - chunk.length);
    this.tail.copyWithin(0, this.filled - keep, this.filled);
    this.tail.set(chunk, keep);
    this.filled = keep + chunk.length;
  }

  /** The last bytes seen, at most `size`. */
  bytes(): Buffer {
    return this.tail.subarray(0, this.filled);
  }
}
