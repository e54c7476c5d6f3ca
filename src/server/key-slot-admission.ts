/**
 * Which key slots the server stores. A key slot is the one object every reader must try before it
 * can read anything, so a hostile slot (a KDF cost that exhausts memory, or junk that sorts first)
 * taxes every restore of the tenant. The server cannot open slots, but it can parse them:
 *
 * - every slot must pass `parseKeySlot` (schema and KDF bounds, the readers' own rule);
 * - an agent may add slots only while its tenant's repository has no config, i.e. while its
 *   enrollment is creating the repository (the route enforces this); later slots are an
 *   operator's act (`rempart admin key add`), audited;
 * - an agent's slot must also cost no more than `AGENT_SCRYPT_MAX_MEMORY` to try: honest agents
 *   write the default (N=2^15, r=8: 32 MiB), and a reader tries every slot of the repository.
 */
import { type KeySlot, parseKeySlot } from "../crypto/key-slots.js";
import { RempartError } from "../errors.js";

/** Key slots are a few hundred bytes of JSON. */
export const MAX_KEY_SLOT_BYTES = 64 * 1024;
/** 128·N·r of scrypt for a slot an agent uploads: 8 times the default cost. */
export const AGENT_SCRYPT_MAX_MEMORY = 256 * 1024 * 1024;
const AGENT_SCRYPT_MAX_P = 4;

/** Why the bytes are not a slot the server keeps: a sentence, or undefined when they are. */
export function keySlotProblem(
  bytes: Uint8Array,
  uploader: "agent" | "operator",
): { slot?: KeySlot; problem?: string } {
  if (bytes.length === 0) return { problem: "an empty object is not a key slot" };
  if (bytes.length > MAX_KEY_SLOT_BYTES)
    return { problem: `a key slot has at most ${MAX_KEY_SLOT_BYTES} bytes, not ${bytes.length}` };
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes));
  } catch {
    return { problem: "a key slot is UTF-8 JSON, and this is not" };
  }
  let slot: KeySlot;
  try {
    slot = parseKeySlot(value);
  } catch (error) {
    if (error instanceof RempartError) return { problem: error.message };
    throw error;
  }
  if (uploader === "agent" && slot.kind === "password") {
    const { N, r, p } = slot.kdf;
    if (128 * N * r > AGENT_SCRYPT_MAX_MEMORY || p > AGENT_SCRYPT_MAX_P)
      return {
        problem: `scrypt N=${N}, r=${r}, p=${p} costs more than an agent may make every reader pay (at most ${AGENT_SCRYPT_MAX_MEMORY / 2 ** 20} MiB, p ≤ ${AGENT_SCRYPT_MAX_P}); an operator can add such a slot (rempart admin key add)`,
      };
  }
  return { slot };
}
