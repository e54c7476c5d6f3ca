// Validation cost per request of the wire messages (src/protocol), from the build in dist/:
// `npm run build && node bench/validation.mjs`. Each figure is the mean over ~0.4 s of calls
// after a warm-up; on a busy machine run it twice and compare. See "Choosing the schema library"
// in docs/SERVER.md for the figures that chose TypeBox.
import { createHash } from "node:crypto";
import { Compile } from "typebox/compile";
import {
  CheckinRequest,
  CommitRequest,
  EnrollRequest,
  KindParam,
  NameParam,
} from "../dist/protocol/api.js";
import { isValidRef } from "../dist/storage/object-store.js";

const hex = (i) => createHash("sha256").update(String(i)).digest("hex");
const commit = (packs) => ({
  name: hex("snapshot"),
  snapshot: Buffer.alloc(600, 7).toString("base64"),
  packs: Array.from({ length: packs }, (_, i) => hex(i)),
  claimed_time: "2030-01-01T00:00:00.000Z",
  logical_bytes: 123456789,
});

/** Microseconds per call. */
function measure(fn, value) {
  for (let i = 0; i < 200; i++) fn(value);
  let runs = 0;
  const start = process.hrtime.bigint();
  let elapsed = 0n;
  while (elapsed < 400_000_000n) {
    for (let i = 0; i < 20; i++) fn(value);
    runs += 20;
    elapsed = process.hrtime.bigint() - start;
  }
  return Number(elapsed) / runs / 1000;
}

const kind = Compile(KindParam);
const name = Compile(NameParam);
const ref = { kind: "data", name: hex("pack") };
const cases = [
  ["object path: isValidRef (what the object routes run)", (r) => isValidRef(r), ref],
  [
    "object path: KindParam + NameParam schemas",
    (r) => kind.Check(r.kind) && name.Check(r.name),
    ref,
  ],
  [
    "enroll body",
    (v) => EnrollRequest.parse(v),
    { token: `rmpe_${"A".repeat(43)}`, hostname: "pc-1", version: "0.1.0" },
  ],
  [
    "check-in body",
    (v) => CheckinRequest.parse(v),
    {
      version: "0.1.0",
      last_backup: { at: "2030-01-01T00:00:00Z", outcome: "success", snapshot_id: hex(1) },
    },
  ],
  ["commit body, 100 packs", (v) => CommitRequest.parse(v), commit(100)],
  ["commit body, 15,000 packs", (v) => CommitRequest.parse(v), commit(15_000)],
];
for (const [label, fn, value] of cases)
  console.log(`${label.padEnd(54)} ${measure(fn, value).toFixed(2).padStart(10)} µs`);
