import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { describe, it } from "node:test";
import { type ErrorCode, isRempartError } from "../errors.js";
import {
  createEscrowSlot,
  createPasswordSlot,
  DEFAULT_SCRYPT,
  type EscrowSlot,
  KDF_WORK_BUDGET,
  type KeySlot,
  kdfWork,
  MAX_SCRYPT,
  openAnySlot,
  openEscrowSlot,
  openPasswordSlot,
  type PasswordSlot,
  parseKeySlot,
} from "./key-slots.js";
import { encodeMasterKey, generateMasterKey, type MasterKey } from "./master-key.js";
import { generateRecoveryKeyPair } from "./recovery-key.js";

const LOW_COST = { N: 2 ** 10, r: 8, p: 1 };

function sameKey(actual: MasterKey, expected: MasterKey): void {
  assert.deepEqual(Buffer.from(encodeMasterKey(actual)), Buffer.from(encodeMasterKey(expected)));
}

function failsWith(code: ErrorCode, pattern?: RegExp): (error: unknown) => boolean {
  return (error) => {
    assert.ok(isRempartError(error, code), `expected ${code}, got ${String(error)}`);
    if (pattern !== undefined) assert.match(error.message, pattern);
    return true;
  };
}

/** What an attacker with write access to `keys/` could store: the JSON, edited. */
function edited<T extends KeySlot>(slot: T, edit: (json: Record<string, unknown>) => void): T {
  const json = JSON.parse(JSON.stringify(slot)) as Record<string, unknown>;
  edit(json);
  return json as unknown as T;
}

function editKdf(slot: PasswordSlot, field: string, value: unknown): PasswordSlot {
  return edited(slot, (json) => {
    (json.kdf as Record<string, unknown>)[field] = value;
  });
}

describe("password key slots", () => {
  it("open with the password they were created with, after a trip through JSON", async () => {
    const masterKey = generateMasterKey();
    const slot = await createPasswordSlot(masterKey, "correct horse", "laptop", LOW_COST);
    assert.equal(slot.kind, "password");
    const { salt, ...parameters } = slot.kdf;
    assert.deepEqual(parameters, { name: "scrypt", ...LOW_COST });
    assert.equal(Buffer.from(salt, "base64").length, 32);
    const stored = JSON.parse(JSON.stringify(slot)) as PasswordSlot;
    sameKey(await openPasswordSlot(stored, "correct horse"), masterKey);
  });

  it("open with default scrypt cost", async () => {
    const masterKey = generateMasterKey();
    const slot = await createPasswordSlot(masterKey, "pw", "default cost");
    assert.deepEqual({ N: slot.kdf.N, r: slot.kdf.r, p: slot.kdf.p }, { N: 2 ** 15, r: 8, p: 1 });
    assert.deepEqual(DEFAULT_SCRYPT, { N: 2 ** 15, r: 8, p: 1 });
    sameKey(await openPasswordSlot(slot, "pw"), masterKey);
  });

  it("refuse a wrong password", async () => {
    const slot = await createPasswordSlot(generateMasterKey(), "right", "laptop", LOW_COST);
    await assert.rejects(openPasswordSlot(slot, "wrong"), failsWith("WrongPassword"));
    await assert.rejects(openPasswordSlot(slot, "Right"), failsWith("WrongPassword"));
  });

  it("treat composed and decomposed spellings of a password as the same password", async () => {
    const masterKey = generateMasterKey();
    const slot = await createPasswordSlot(masterKey, "caf\u00e9", "nfc", LOW_COST);
    sameKey(await openPasswordSlot(slot, "cafe\u0301"), masterKey);
  });

  it("fail like a wrong password once the label, date or any KDF parameter is edited", async () => {
    const slot = await createPasswordSlot(generateMasterKey(), "pw", "laptop", LOW_COST);
    const otherSalt = randomBytes(32).toString("base64");
    const forgeries = [
      edited(slot, (json) => {
        json.label = "server";
      }),
      edited(slot, (json) => {
        json.created = "2001-01-01T00:00:00.000Z";
      }),
      editKdf(slot, "N", 2 ** 11),
      editKdf(slot, "r", 1),
      editKdf(slot, "r", 4),
      editKdf(slot, "salt", otherSalt),
    ];
    for (const forged of forgeries) {
      await assert.rejects(openPasswordSlot(forged, "pw"), failsWith("WrongPassword"));
    }
  });

  it("refuse absurd or malformed KDF parameters as corrupt before running scrypt", async () => {
    const slot = await createPasswordSlot(generateMasterKey(), "pw", "laptop", LOW_COST);
    // Each of these would need gigabytes (or is not scrypt at all); reaching scrypt would fail
    // with Node's own memory error instead of RepositoryCorrupt.
    const forgeries = [
      editKdf(slot, "N", 2 ** 30),
      editKdf(slot, "N", 2 ** 21),
      editKdf(slot, "N", 3000),
      editKdf(slot, "N", "1024"),
      editKdf(slot, "r", 64),
      editKdf(slot, "p", 1000),
      editKdf(slot, "r", 0.5),
      editKdf({ ...slot, kdf: { ...slot.kdf, N: 2 ** 20 } }, "r", 32),
      editKdf(slot, "name", "argon2id"),
      editKdf(slot, "salt", "c2hvcnQ="),
      edited(slot, (json) => {
        json.wrapped = "AAAA";
      }),
    ];
    for (const forged of forgeries) {
      await assert.rejects(
        openPasswordSlot(forged, "pw"),
        failsWith("RepositoryCorrupt"),
        JSON.stringify(forged.kdf),
      );
    }
  });

  it("are never created with parameters they would refuse or an empty password", async () => {
    const masterKey = generateMasterKey();
    await assert.rejects(
      createPasswordSlot(masterKey, "pw", "x", { N: 2 ** 30, r: 8, p: 1 }),
      failsWith("InvalidArgument"),
    );
    await assert.rejects(
      createPasswordSlot(masterKey, "", "x", LOW_COST),
      failsWith("InvalidArgument"),
    );
  });
});

describe("escrow key slots", () => {
  it("open with the recovery private key matching the public key they were sealed to", () => {
    const masterKey = generateMasterKey();
    const { publicKey, privateKey } = generateRecoveryKeyPair();
    const slot = createEscrowSlot(masterKey, publicKey, "MSP recovery");
    assert.equal(slot.scheme, "x25519-hkdf-sha256-aes256gcm");
    const stored = JSON.parse(JSON.stringify(slot)) as EscrowSlot;
    sameKey(openEscrowSlot(stored, privateKey), masterKey);
  });

  it("use a fresh ephemeral key for every slot", () => {
    const { publicKey } = generateRecoveryKeyPair();
    const masterKey = generateMasterKey();
    const a = createEscrowSlot(masterKey, publicKey, "a");
    const b = createEscrowSlot(masterKey, publicKey, "a");
    assert.notEqual(a.ephemeralPublicKey, b.ephemeralPublicKey);
  });

  it("say that another recovery key does not match the slot", () => {
    const slot = createEscrowSlot(generateMasterKey(), generateRecoveryKeyPair().publicKey, "MSP");
    assert.throws(
      () => openEscrowSlot(slot, generateRecoveryKeyPair().privateKey),
      failsWith("WrongPassword", /recovery key does not match/),
    );
  });

  it("report an edited slot as corrupt when the recovery key matches", () => {
    const { publicKey, privateKey } = generateRecoveryKeyPair();
    const slot = createEscrowSlot(generateMasterKey(), publicKey, "MSP");
    const otherEphemeral = createEscrowSlot(
      generateMasterKey(),
      publicKey,
      "MSP",
    ).ephemeralPublicKey;
    const forgeries = [
      edited(slot, (json) => {
        json.label = "MSP (old)";
      }),
      edited(slot, (json) => {
        json.ephemeralPublicKey = otherEphemeral;
      }),
      edited(slot, (json) => {
        json.ephemeralPublicKey = Buffer.alloc(32).toString("base64");
      }),
      edited(slot, (json) => {
        json.scheme = "x25519-none";
      }),
    ];
    for (const forged of forgeries) {
      assert.throws(
        () => openEscrowSlot(forged, privateKey),
        (error: unknown) =>
          isRempartError(error, "RepositoryCorrupt") || isRempartError(error, "Unsupported"),
      );
    }
  });
});

describe("opening any slot", () => {
  it("picks the slot the secret opens among several", async () => {
    const masterKey = generateMasterKey();
    const recovery = generateRecoveryKeyPair();
    const otherRecovery = generateRecoveryKeyPair();
    const slots: KeySlot[] = [
      await createPasswordSlot(masterKey, "alice", "alice", LOW_COST),
      createEscrowSlot(masterKey, otherRecovery.publicKey, "other MSP"),
      createEscrowSlot(masterKey, recovery.publicKey, "MSP"),
      await createPasswordSlot(masterKey, "bob", "bob", LOW_COST),
    ];
    const byPassword = await openAnySlot(slots, { password: "bob" });
    assert.equal(byPassword.slotIndex, 3);
    sameKey(byPassword.masterKey, masterKey);
    const byRecovery = await openAnySlot(slots, { recoveryPrivateKey: recovery.privateKey });
    assert.equal(byRecovery.slotIndex, 2);
    sameKey(byRecovery.masterKey, masterKey);
  });

  it("skips damaged and foreign slots instead of giving up on them", async () => {
    const masterKey = generateMasterKey();
    const good = await createPasswordSlot(masterKey, "pw", "good", LOW_COST);
    const slots = [
      null,
      { version: 2, kind: "password" },
      { version: 1, kind: "fido2", created: "", label: "", wrapped: "" },
      editKdf(good, "N", 2 ** 30),
      good,
    ] as unknown as KeySlot[];
    const opened = await openAnySlot(slots, { password: "pw" });
    assert.equal(opened.slotIndex, 4);
    sameKey(opened.masterKey, masterKey);
  });

  it("says wrong password when no slot opens, naming the damaged ones", async () => {
    const slot = await createPasswordSlot(generateMasterKey(), "pw", "good", LOW_COST);
    const slots = [slot, editKdf(slot, "N", 2 ** 30)];
    await assert.rejects(
      openAnySlot(slots, { password: "nope" }),
      failsWith("WrongPassword", /^wrong password: no key slot matches \(.*#1\)$/),
    );
    await assert.rejects(
      openAnySlot(slots, { recoveryPrivateKey: generateRecoveryKeyPair().privateKey }),
      failsWith("WrongPassword", /^wrong recovery key: no key slot matches \(.*#1\)$/),
    );
  });

  it("needs a password or a recovery key", async () => {
    await assert.rejects(openAnySlot([], {}), failsWith("InvalidArgument"));
  });
});

describe("parsing stored slots", () => {
  it("keeps only the known fields of a slot", async () => {
    const slot = await createPasswordSlot(generateMasterKey(), "pw", "laptop", LOW_COST);
    assert.deepEqual(parseKeySlot({ ...slot, extra: "ignored" }), slot);
  });

  it("refuses KDF parameters above what Rempart creates, without running scrypt", async () => {
    const slot = await createPasswordSlot(generateMasterKey(), "pw", "laptop", LOW_COST);
    // The slot a stolen credential uploaded in issue 8: 1 GiB and 2.5 s per open, per slot.
    const hostile = [
      editKdf(slot, "N", 2 ** 20),
      editKdf(slot, "N", 2 ** 18),
      editKdf(slot, "r", 16),
      editKdf(slot, "p", 2),
      editKdf({ ...slot, kdf: { ...slot.kdf, N: 2 ** 17 } }, "r", 9),
    ];
    const started = performance.now();
    for (const forged of hostile)
      assert.throws(
        () => parseKeySlot(forged),
        failsWith("RepositoryCorrupt", /out of bounds/),
        JSON.stringify(forged.kdf),
      );
    assert.ok(performance.now() - started < 50, "refused before any KDF runs");
    // The bound itself still opens: a later, costlier default stays readable.
    const atBound = await createPasswordSlot(generateMasterKey(), "pw", "bound", MAX_SCRYPT);
    assert.deepEqual(parseKeySlot(atBound), atBound);
    assert.deepEqual(MAX_SCRYPT, { N: 2 ** 17, r: 8, p: 1 });
  });

  it("prices a slot's KDF in the unit of the open budget", async () => {
    const slot = await createPasswordSlot(generateMasterKey(), "pw", "laptop", LOW_COST);
    assert.equal(kdfWork(slot), 2 ** 10 * 8);
    assert.equal(
      kdfWork(createEscrowSlot(generateMasterKey(), generateRecoveryKeyPair().publicKey, "x")),
      0,
    );
    assert.equal(KDF_WORK_BUDGET, 8 * DEFAULT_SCRYPT.N * DEFAULT_SCRYPT.r);
  });

  it("refuses values that are not slots", () => {
    for (const value of [null, [], "slot", { version: 1 }, { version: 1, kind: "password" }]) {
      assert.throws(
        () => parseKeySlot(value),
        failsWith("RepositoryCorrupt"),
        JSON.stringify(value),
      );
    }
    assert.throws(() => parseKeySlot({ version: 2 }), failsWith("Unsupported"));
  });
});
