import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { describe, it } from "node:test";
import { isRempartError } from "../errors.js";
import {
  formatRecoveryPrivateKey,
  formatRecoveryPublicKey,
  generateRecoveryKeyPair,
  parseRecoveryPrivateKey,
  parseRecoveryPublicKey,
  recoveryKeyFingerprint,
} from "./recovery-key.js";

function isInvalidArgument(error: unknown): boolean {
  return isRempartError(error, "InvalidArgument");
}

describe("recovery keys", () => {
  it("print as one prefixed base64 line each", () => {
    const { publicKey, privateKey } = generateRecoveryKeyPair();
    assert.match(
      formatRecoveryPublicKey(publicKey),
      /^rempart-recovery-public-v1:[A-Za-z0-9+/]{43}=$/,
    );
    assert.match(
      formatRecoveryPrivateKey(privateKey),
      /^rempart-recovery-private-v1:[A-Za-z0-9+/]{43}=$/,
    );
  });

  it("round-trip through text, whitespace around the line ignored", () => {
    const { publicKey, privateKey } = generateRecoveryKeyPair();
    const publicText = formatRecoveryPublicKey(publicKey);
    const privateText = formatRecoveryPrivateKey(privateKey);
    const parsedPublic = parseRecoveryPublicKey(`  ${publicText}\n`);
    const parsedPrivate = parseRecoveryPrivateKey(`${privateText}\r\n`);
    assert.equal(formatRecoveryPublicKey(parsedPublic), publicText);
    assert.equal(formatRecoveryPrivateKey(parsedPrivate), privateText);
    assert.deepEqual(parsedPrivate.publicKey.raw, publicKey.raw);
  });

  it("fingerprint as the hex SHA-256 of the raw public key", () => {
    const { publicKey, privateKey } = generateRecoveryKeyPair();
    const expected = createHash("sha256").update(publicKey.raw).digest("hex");
    assert.equal(recoveryKeyFingerprint(publicKey), expected);
    assert.equal(recoveryKeyFingerprint(privateKey.publicKey), expected);
    assert.notEqual(recoveryKeyFingerprint(generateRecoveryKeyPair().publicKey), expected);
  });

  it("refuse text that is not a key of the expected kind", () => {
    const { publicKey, privateKey } = generateRecoveryKeyPair();
    const publicText = formatRecoveryPublicKey(publicKey);
    const privateText = formatRecoveryPrivateKey(privateKey);
    const body = publicText.slice(publicText.indexOf(":") + 1);
    for (const bad of [
      "",
      body,
      privateText,
      `rempart-recovery-public-v2:${body}`,
      `rempart-recovery-public-v1:${body.slice(4)}`,
      `rempart-recovery-public-v1:${body}AAAA`,
      `rempart-recovery-public-v1:${body.replace("=", "")}`,
      `rempart-recovery-public-v1:${body.slice(0, 10)} ${body.slice(10)}`,
      `${publicText}\n${publicText}`,
    ]) {
      assert.throws(() => parseRecoveryPublicKey(bad), isInvalidArgument, JSON.stringify(bad));
    }
    assert.throws(
      () => parseRecoveryPrivateKey(publicText),
      (error: unknown) => {
        assert.ok(isInvalidArgument(error));
        assert.match(String(error), /expected a recovery private key/);
        return true;
      },
    );
  });

  it("refuse a low-order public key, which would make every escrow secret guessable", () => {
    const zero = `rempart-recovery-public-v1:${Buffer.alloc(32).toString("base64")}`;
    assert.throws(() => parseRecoveryPublicKey(zero), isInvalidArgument);
  });
});
