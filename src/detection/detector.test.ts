/**
 * The detector on new files: one that is not what its name claims (noise named .jpg) destroys
 * nothing by itself; as many as files vanished are what "encrypt to new files, delete the
 * originals" leaves, and count as damage.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { jpeg, noise } from "../demo/sample-files.js";
import type { TreeNode } from "../snapshot/tree.js";
import { ChangeDetector } from "./detector.js";
import { Sampler } from "./sample.js";
import type { DetectionSignals } from "./summary.js";

function sampleOf(bytes: Uint8Array) {
  const sampler = new Sampler(bytes.length);
  sampler.take(bytes);
  return sampler.sample();
}

const fileNode = (name: string, id: string): TreeNode => ({
  name,
  type: "file",
  mode: 0o644,
  uid: 0,
  gid: 0,
  mtimeMs: 0,
  atimeMs: 0,
  ctimeMs: 0,
  inode: 0,
  device: 0,
  links: 1,
  size: 50_000,
  content: [id],
});

/** A directory whose parent held `before` and which now holds two opaque "photos". */
async function signals(before: readonly string[]): Promise<DetectionSignals> {
  const detector = new ChangeDetector({
    hasParent: true,
    readTree: () => Promise.reject(new Error("no subtrees here")),
  });
  const present = new Set<string>(["kept.jpg"]);
  for (const name of ["download-1.jpg", "download-2.jpg"]) {
    present.add(name);
    detector.file("/photos", name, "new", sampleOf(noise(name, 50_000)), [`${name}-id`]);
  }
  detector.file("/photos", "kept.jpg", "changed", sampleOf(jpeg("kept", 40_000)), ["kept-id-2"]);
  const parent = new Map(
    ["kept.jpg", ...before].map((name, i) => [name, fileNode(name, `parent-${i}`)]),
  );
  await detector.directory("/photos", parent, present);
  return detector.finish(present.size);
}

describe("new files that are not what their name claims", () => {
  it("are not damage when nothing was deleted", async () => {
    const result = await signals([]);
    assert.equal(result.files_added, 2);
    assert.equal(result.type_mismatches, 0);
  });

  it("are damage, as many as files vanished, when they replace deleted ones", async () => {
    const one = await signals(["holiday.docx"]);
    assert.equal(one.files_deleted, 1);
    assert.equal(one.type_mismatches, 1);
    const two = await signals(["holiday.docx", "budget.xlsx", "old.txt"]);
    assert.equal(two.type_mismatches, 2);
  });
});
