import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { isRempartError } from "../../errors.js";
import { tempDir } from "../../testing/cli.js";
import { openSecretBox, SECRET_KEY_FILE, secretBox } from "./secret-box.js";

describe("operator secret box", () => {
  it("seals a secret that opens only with its key and for its operator", () => {
    const box = secretBox(randomBytes(32));
    const sealed = box.seal("JBSWY3DPEHPK3PXP", "op-1");
    assert.doesNotMatch(sealed, /JBSWY3DPEHPK3PXP/);
    assert.equal(box.open(sealed, "op-1"), "JBSWY3DPEHPK3PXP");
    const refused = (open: () => string) =>
      assert.throws(open, (error: unknown) => isRempartError(error, "InvalidArgument"));
    refused(() => box.open(sealed, "op-2"));
    refused(() => secretBox(randomBytes(32)).open(sealed, "op-1"));
    const [version, nonce, body] = sealed.split(".");
    const flipped = Buffer.from(body ?? "", "base64url");
    flipped[0] = (flipped[0] ?? 0) ^ 1;
    refused(() => box.open(`${version}.${nonce}.${flipped.toString("base64url")}`, "op-1"));
    refused(() => box.open("v1.x.y", "op-1"));
  });

  it("makes its key once, owner-only, and every opener after that uses the same one", async (t) => {
    const dir = tempDir(t, "secrets");
    const [first, second] = await Promise.all([openSecretBox(dir), openSecretBox(dir)]);
    const path = join(dir, SECRET_KEY_FILE);
    assert.equal(statSync(path).mode & 0o777, 0o600);
    assert.equal(readFileSync(path).length, 32);
    assert.equal(second.open(first.seal("s", "op"), "op"), "s");
    const third = await openSecretBox(dir);
    assert.equal(third.open(first.seal("s", "op"), "op"), "s");
  });
});
