import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { isRempartError } from "../errors.js";
import {
  CheckinRequest,
  CommitResponse,
  EnrollRequest,
  TenantRequest,
  ValidationError,
} from "./api.js";

function refusal(parse: () => unknown): ValidationError {
  try {
    parse();
  } catch (error) {
    assert.ok(error instanceof ValidationError, String(error));
    return error;
  }
  assert.fail("the value was accepted");
}

describe("a wire message", () => {
  it("returns a valid request as it is, typed", () => {
    const body = { name: "acme", retention_days: 30, quota_bytes: null };
    assert.deepEqual(TenantRequest.parse(body), body);
  });

  it("names the field at fault, as a dotted path, and why", () => {
    const outcome = refusal(() =>
      CheckinRequest.parse({
        version: "1",
        last_backup: { at: "2030-01-01T00:00:00Z", outcome: "great" },
      }),
    );
    assert.equal(outcome.field, "last_backup.outcome");
    assert.match(
      outcome.message,
      /^"last_backup\.outcome" must be equal to one of the allowed values/,
    );
    const time = refusal(() =>
      CheckinRequest.parse({ version: "1", last_backup: { at: "now", outcome: "success" } }),
    );
    assert.equal(
      time.message,
      '"last_backup.at" is malformed: a time is ISO 8601 in UTC, such as 2026-11-30T10:00:00Z',
    );
  });

  it("names a missing field itself", () => {
    const missing = refusal(() => CheckinRequest.parse({ version: "1", last_backup: {} }));
    assert.equal(missing.field, "last_backup.at");
    assert.equal(missing.message, '"last_backup.at" is required (so are last_backup.outcome)');
  });

  it("explains a malformed pattern by what the field is, not by its regex", () => {
    const name = refusal(() => TenantRequest.parse({ name: "Bad Name", retention_days: 1 }));
    assert.equal(name.field, "name");
    assert.match(name.message, /^"name" is malformed: a tenant name is 1 to 63 lowercase letters/);
    const host = refusal(() =>
      EnrollRequest.parse({ token: "t", hostname: "pc\u0000x", version: "1" }),
    );
    assert.match(
      host.message,
      /^"hostname" is malformed: a host name is 1 to 255 characters without control characters$/,
    );
  });

  it("refuses unknown fields in a request, and a body that is not an object", () => {
    assert.match(
      refusal(() => TenantRequest.parse({ name: "acme", retention_days: 1, colour: "red" }))
        .message,
      /unknown field\(s\): colour/,
    );
    const array = refusal(() => TenantRequest.parse([]));
    assert.equal(array.field, "");
    assert.match(array.message, /^the TenantRequest body must be object/);
  });

  it("reads a server's answer with fields it does not know, and refuses a malformed one as Io", () => {
    const answer = {
      snapshot_id: "a".repeat(64),
      committed_at: "2030-01-01T00:00:00.000Z",
      outcome: "created",
      later: 1,
    };
    assert.equal(CommitResponse.answer(answer, "https://server").outcome, "created");
    assert.throws(
      () => CommitResponse.answer({ ...answer, outcome: "maybe" }, "https://server"),
      (error: unknown) =>
        isRempartError(error, "Io") &&
        /https:\/\/server sent a malformed CommitResponse: "outcome"/.test(error.message),
    );
  });
});
