/**
 * Collects the detection signals of one backup as the archiver walks the tree: each file it reads
 * (new or changed), and each directory once done, compared with the parent snapshot's entries.
 * Unchanged files cost one extension lookup. A new file is held (as a few numbers) until its
 * directory is done, because "report.docx.locked" replacing "report.docx" must be judged as the
 * DOCX it claims to have been. Renames whose content is unchanged are found by content ids.
 */
import type { Tree, TreeNode } from "../snapshot/tree.js";
import {
  type ContentProfile,
  isUnrecognisedNoise,
  type Judgement,
  judge,
  profile,
  sampledProfile,
} from "./content.js";
import { typeOfExtension } from "./formats.js";
import { extensionOf, isKnownRansomExtension, isRansomNoteName, stemOf } from "./names.js";
import type { FileSample } from "./sample.js";
import { DETECTION_LIMITS, type DetectionSignals, EXTENSION_PATTERN } from "./summary.js";

interface NewFile {
  readonly name: string;
  readonly key: string;
  readonly content: ContentProfile;
}

/** Files whose content reappears elsewhere are renames; this bounds what is remembered to match. */
const MAX_REMEMBERED = 500_000;

export interface DetectorOptions {
  /** without a parent every file is new and nothing is compared: only counts are kept */
  readonly hasParent: boolean;
  /** the parent's subtrees, to count the files of a deleted directory */
  readonly readTree: (id: string) => Promise<Tree>;
}

export class ChangeDetector {
  private added = 0;
  private changed = 0;
  private deleted = 0;
  private renamed = 0;
  private extensionChanges = 0;
  private mismatches = 0;
  private dense = 0;
  /** new files (not renames) whose head is not what their name claims */
  private newMismatches = 0;
  private notes = 0;
  private ransomExtensions = 0;
  private readonly parentExtensions = new Set<string>();
  /** extensions of added and renamed files, with how many */
  private readonly arrivedExtensions = new Map<string, number>();
  /** unrecognised noise under names of no known type, by extension */
  private readonly noiseByExtension = new Map<string, number>();
  private readonly pending = new Map<string, NewFile[]>();
  /** content keys of new and of deleted files not paired by name, to find moves */
  private readonly newKeys = new Map<string, string>();
  private readonly deletedKeys = new Map<string, string>();

  constructor(private readonly options: DetectorOptions) {}

  /** A file the backup read because it is new or changed; `dir` is its directory's path. */
  file(
    dir: string,
    name: string,
    status: "new" | "changed",
    sample: FileSample,
    content: readonly string[],
  ): void {
    if (!this.options.hasParent) {
      this.added++;
      return;
    }
    if (status === "changed") {
      this.changed++;
      this.count(judge(extensionOf(name), sampledProfile(sample)));
      return;
    }
    const list = this.pending.get(dir) ?? [];
    list.push({ name, key: contentKey(content, sample.size), content: profile(sample) });
    this.pending.set(dir, list);
  }

  /**
   * A directory is done: `before` are its entries in the parent snapshot, `present` the names
   * backed up now. New files are paired with deleted ones by name, the rest remembered.
   */
  async directory(
    dir: string,
    before: ReadonlyMap<string, TreeNode>,
    present: ReadonlySet<string>,
  ): Promise<void> {
    if (!this.options.hasParent) return;
    const deletedFiles = new Map<string, TreeNode>();
    // Once per file of the parent snapshot, so without the entries' arrays a Map's own iterator makes.
    for (const node of before.values()) {
      if (node.type === "file") this.parentExtensions.add(extensionOf(node.name));
      if (present.has(node.name)) continue;
      if (node.type === "file") deletedFiles.set(node.name, node);
      else if (node.type === "dir" && node.subtree !== undefined)
        await this.deletedTree(node.subtree);
    }
    const pending = this.pending.get(dir);
    if (pending !== undefined) {
      this.pending.delete(dir);
      this.pair(pending, deletedFiles);
    }
    for (const [name, node] of deletedFiles) this.gone(name, node);
  }

  /** New files of a directory: renames of the deleted files whose names they continue, or arrivals. */
  private pair(files: readonly NewFile[], deletedFiles: Map<string, TreeNode>): void {
    const byStem = new Map<string, TreeNode>();
    for (const [name, node] of deletedFiles) byStem.set(stemOf(name), node);
    for (const file of files) {
      const original = deletedFiles.get(stemOf(file.name)) ?? byStem.get(stemOf(file.name));
      if (original && deletedFiles.delete(original.name)) this.renamedFrom(original.name, file);
      else this.arrived(file);
    }
  }

  /** The signals, once every file and directory has been reported. */
  finish(filesTotal: number): DetectionSignals {
    for (const files of this.pending.values()) for (const file of files) this.arrived(file);
    this.pending.clear();
    for (const [key, extension] of this.newKeys) {
      const from = this.deletedKeys.get(key);
      if (from === undefined) continue;
      this.deletedKeys.delete(key);
      this.added--;
      this.deleted--;
      this.renamed++;
      if (from !== extension) this.extensionChanges++;
    }
    const fresh = [...this.arrivedExtensions]
      .filter(
        ([extension]) => !this.parentExtensions.has(extension) && EXTENSION_PATTERN.test(extension),
      )
      .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
    // New files are damage only as replacements of vanished ones: "encrypt to new files, delete
    // the originals". A new file that is not what its name says (a download, a test fixture, a
    // camera's oddity) destroys nothing, so at most as many count as files were deleted. Those of
    // no recognisable format count only under an extension the parent did not have.
    let noise = 0;
    for (const [extension, count] of this.noiseByExtension)
      if (!this.parentExtensions.has(extension)) noise += count;
    const replacedMismatches = Math.min(this.newMismatches, this.deleted);
    const replacedNoise = Math.min(noise, this.deleted - replacedMismatches);
    return {
      files_total: filesTotal,
      files_added: this.added,
      files_changed: this.changed,
      files_deleted: this.deleted,
      files_renamed: this.renamed,
      extension_changes: this.extensionChanges,
      type_mismatches: this.mismatches + replacedMismatches,
      high_entropy_changes: this.dense + replacedNoise,
      ransom_notes: this.notes,
      known_ransom_extensions: this.ransomExtensions,
      new_extensions: fresh
        .slice(0, DETECTION_LIMITS.newExtensions)
        .map(([extension]) => extension),
    };
  }

  private count(judgement: Judgement): void {
    if (judgement === "mismatch") this.mismatches++;
    else if (judgement === "dense") this.dense++;
  }

  /** A new file whose name continues or replaces a deleted one's: judged as the original's type. */
  private renamedFrom(originalName: string, file: NewFile): void {
    this.renamed++;
    const before = extensionOf(originalName);
    const after = extensionOf(file.name);
    if (after !== before) {
      this.extensionChanges++;
      this.arrive(after);
    }
    this.count(judge(before, file.content));
  }

  private arrived(file: NewFile): void {
    this.added++;
    const extension = extensionOf(file.name);
    this.arrive(extension);
    if (isRansomNoteName(file.name)) this.notes++;
    if (judge(extension, file.content, "head") === "mismatch") this.newMismatches++;
    if (isUnrecognisedNoise(file.content) && !typeOfExtension(extension))
      this.noiseByExtension.set(extension, (this.noiseByExtension.get(extension) ?? 0) + 1);
    if (this.newKeys.size < MAX_REMEMBERED) this.newKeys.set(file.key, extension);
  }

  private arrive(extension: string): void {
    if (isKnownRansomExtension(extension)) this.ransomExtensions++;
    this.arrivedExtensions.set(extension, (this.arrivedExtensions.get(extension) ?? 0) + 1);
  }

  private gone(name: string, node: TreeNode): void {
    this.deleted++;
    const extension = extensionOf(name);
    this.parentExtensions.add(extension);
    if (node.content !== undefined && this.deletedKeys.size < MAX_REMEMBERED)
      this.deletedKeys.set(contentKey(node.content, node.size ?? 0), extension);
  }

  private async deletedTree(id: string): Promise<void> {
    let tree: Tree;
    try {
      tree = await this.options.readTree(id);
    } catch {
      // The files below an unreadable parent tree are not counted: detection never fails a backup.
      return;
    }
    for (const node of tree.nodes) {
      if (node.type === "file") this.gone(node.name, node);
      else if (node.type === "dir" && node.subtree !== undefined)
        await this.deletedTree(node.subtree);
    }
  }
}

/** Names a file's content without holding all its ids: first id, chunk count and size. */
function contentKey(content: readonly string[], size: number): string {
  return `${content[0] ?? ""}:${content.length}:${size}`;
}
