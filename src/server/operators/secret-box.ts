/**
 * Seals operator secrets (TOTP seeds) with a key kept beside the catalog, not in it: a copy of
 * `catalog.sqlite` alone (a backup of it, a stolen file) gives no second factor away. The key is
 * `<data>/operator-secrets.key`, 32 random bytes, owner-only, made on first use; losing it means
 * every operator enrols TOTP again (`rempart admin operator totp reset`). AES-256-GCM, with the
 * operator's id as associated data so a sealed secret moved to another operator's row fails.
 */
import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto";
import { link, readFile, unlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { RempartError } from "../../errors.js";

export const SECRET_KEY_FILE = "operator-secrets.key";
const KEY_BYTES = 32;
const NONCE_BYTES = 12;
const TAG_BYTES = 16;
const VERSION = "v1";

export interface SecretBox {
  seal(secret: string, operatorId: string): string;
  /** The secret, or InvalidArgument when the sealed text was not made by this key for this operator. */
  open(sealed: string, operatorId: string): string;
}

function associated(operatorId: string): Buffer {
  return Buffer.from(`rempart operator secret ${VERSION} ${operatorId}`);
}

export function secretBox(key: Uint8Array): SecretBox {
  if (key.length !== KEY_BYTES)
    throw new RempartError(
      "InvalidArgument",
      `the operator secrets key must be ${KEY_BYTES} bytes`,
    );
  return {
    seal(secret, operatorId) {
      const nonce = randomBytes(NONCE_BYTES);
      const cipher = createCipheriv("aes-256-gcm", key, nonce).setAAD(associated(operatorId));
      const sealed = Buffer.concat([
        cipher.update(secret, "utf8"),
        cipher.final(),
        cipher.getAuthTag(),
      ]);
      return `${VERSION}.${nonce.toString("base64url")}.${sealed.toString("base64url")}`;
    },
    open(sealed, operatorId) {
      const [version, nonceText, bodyText] = sealed.split(".");
      const nonce = Buffer.from(nonceText ?? "", "base64url");
      const body = Buffer.from(bodyText ?? "", "base64url");
      if (version !== VERSION || nonce.length !== NONCE_BYTES || body.length <= TAG_BYTES)
        throw unreadable();
      try {
        const decipher = createDecipheriv("aes-256-gcm", key, nonce).setAAD(associated(operatorId));
        decipher.setAuthTag(body.subarray(body.length - TAG_BYTES));
        return Buffer.concat([
          decipher.update(body.subarray(0, body.length - TAG_BYTES)),
          decipher.final(),
        ]).toString("utf8");
      } catch {
        throw unreadable();
      }
    },
  };
}

function unreadable(): RempartError {
  return new RempartError(
    "InvalidArgument",
    `this operator's TOTP secret does not open with ${SECRET_KEY_FILE}; reset it (rempart admin operator totp reset)`,
    { reason: "totp-unreadable" },
  );
}

/**
 * The data directory's key, made the first time it is needed: written whole under a private name
 * and then linked into place, so that another process (the server, an admin command) never reads
 * half a key, and the first one to link wins.
 */
export async function openSecretBox(dataDir: string): Promise<SecretBox> {
  const path = join(dataDir, SECRET_KEY_FILE);
  try {
    return secretBox(await readFile(path));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
  }
  const fresh = join(dataDir, `.${SECRET_KEY_FILE}.${randomBytes(8).toString("hex")}`);
  await writeFile(fresh, randomBytes(KEY_BYTES), { mode: 0o600, flag: "wx", flush: true });
  try {
    await link(fresh, path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
  } finally {
    await unlink(fresh);
  }
  return secretBox(await readFile(path));
}
