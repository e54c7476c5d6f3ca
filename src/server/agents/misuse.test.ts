import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ApiError } from "../api-error.js";
import { misuseOf, misuseOfRequest, misuseRefusal } from "./misuse.js";

describe("what a refused request betrays", () => {
  it("names a DELETE on any path, and a segment that is or hides a dot segment or a slash", () => {
    assert.deepEqual(misuseOfRequest("DELETE", "/v1/repo/objects/data/ab?x=1"), {
      kind: "delete",
      target: "/v1/repo/objects/data/ab",
    });
    for (const path of [
      "/v1/repo/objects/data/..",
      "/v1/repo/objects/%2e%2e",
      "/v1/repo/objects/data/..%2F..%2Fother",
      "/v1/repo/objects/data/a%5Cb",
      "/v1/repo/./objects",
    ])
      assert.equal(misuseOfRequest("GET", path)?.kind, "outside-tenant", path);
    for (const path of ["/v1/repo/objects/data/abc", "/v1/repo/objects/data?cursor=..%2F", "/%zz"])
      assert.equal(misuseOfRequest("GET", path), undefined, path);
  });

  it("keeps a flagged refusal's answer, and blames nobody whose credential was refused", () => {
    const refusal = new ApiError("Conflict", "no", { reason: "x" }, { A: "b" });
    const flagged = misuseRefusal("overwrite", "config/config", refusal);
    assert.equal(flagged.status, 409);
    assert.equal(flagged.message, "no");
    assert.deepEqual(flagged.headers, { A: "b" });
    assert.deepEqual(misuseOf("PUT", "/v1/x", flagged), {
      kind: "overwrite",
      target: "config/config",
      reason: "x",
    });
    const revoked = new ApiError("CredentialRevoked", "revoked");
    assert.equal(misuseOf("GET", "/v1/repo/objects/data/..%2Fx", revoked), undefined);
    assert.equal(misuseOf("DELETE", "/v1/repo", new ApiError("AppendOnly", "no"))?.kind, "delete");
  });
});
