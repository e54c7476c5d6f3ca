import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { extensionOf, isKnownRansomExtension, isRansomNoteName, stemOf } from "./names.js";

describe("name signals", () => {
  it("recognises the ransom notes of the main families", () => {
    for (const name of [
      "HOW_TO_DECRYPT.txt",
      "README_FOR_DECRYPT.txt",
      "!!!RESTORE_FILES!!!.txt",
      "Restore-My-Files.txt",
      "_readme.txt",
      "DECRYPT-FILES.hta",
      "YOUR_FILES_ARE_ENCRYPTED.html",
      "How To Recover Your Data.txt",
    ])
      assert.ok(isRansomNoteName(name), name);
  });

  it("leaves ordinary documents alone", () => {
    for (const name of [
      "README.md",
      "readme.txt",
      "minutes.txt",
      "restore-procedure.pdf",
      "decrypt.py",
      "notes.html",
    ])
      assert.ok(!isRansomNoteName(name), name);
  });

  it("reads extensions in lower case, none for dot-files", () => {
    assert.equal(extensionOf("Report.DOCX"), ".docx");
    assert.equal(extensionOf(".bashrc"), "");
    assert.equal(stemOf("report.docx.locked"), "report.docx");
    assert.ok(isKnownRansomExtension(".lockbit"));
    assert.ok(!isKnownRansomExtension(".docx"));
  });
});
