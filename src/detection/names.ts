/**
 * What names say: extensions, ransom notes, and the extensions ransomware families append. Known
 * extensions are a weak signal (families pick new ones every month, and `.enc` is also a normal
 * name); a note is stronger, a note repeated in many folders stronger still.
 */

/** The lowercase extension with its dot (".docx"), or "" for none ("Makefile", ".bashrc"). */
export function extensionOf(name: string): string {
  const dot = name.lastIndexOf(".");
  if (dot <= 0 || dot === name.length - 1) return "";
  return name.slice(dot).toLowerCase();
}

/** The name without its last extension. */
export function stemOf(name: string): string {
  const extension = extensionOf(name);
  return extension === "" ? name : name.slice(0, name.length - extension.length);
}

const KNOWN_RANSOM_EXTENSIONS = new Set(
  (
    "locked encrypted crypt crypted cry crypto enc lockbit lockbit3 ryk ryuk conti wncry wnry wcry " +
    "cerber cerber3 locky zepto odin thor aesir zzzzz micro vvv ccc ecc ttt xxx crysis dharma " +
    "wallet onion arena phobos makop basta hive akira royal clop cl0p medusa play rhysida 8base " +
    "babyk babuk avos avoslocker blackbyte kraken globe purge crinf r5a xrtn lock ransom pay2key " +
    "darkside nefilim sodinokibi revil mallox blacksuit trigona"
  )
    .split(" ")
    .map((e) => `.${e}`),
);

export function isKnownRansomExtension(extension: string): boolean {
  return KNOWN_RANSOM_EXTENSIONS.has(extension);
}

/**
 * Note names of the main families: "HOW_TO_DECRYPT.txt", "README_FOR_DECRYPT.txt",
 * "!!!RESTORE_FILES!!!.txt", "Restore-My-Files.txt", "_readme.txt" (STOP/Djvu), "RyukReadMe.html",
 * "DECRYPT-FILES.hta", "YOUR_FILES_ARE_ENCRYPTED.html". A word about decrypting, restoring or
 * recovering *files*, or a ransom, in a short document name.
 */
const NOTE_EXTENSIONS = new Set([
  "",
  ".txt",
  ".html",
  ".htm",
  ".hta",
  ".rtf",
  ".url",
  ".png",
  ".bmp",
]);
const NOTE_WORDS =
  /(decrypt|ransom|encrypted|unlock.*files?|(restore|recover|return).*(files?|data)|how.?to.?(back|get|restore|recover)|files?.?(are|were|have been)?.?(locked|encrypted)|readme.*(decrypt|lock|crypt)|_readme\.txt$|^!+.*!+$)/i;

export function isRansomNoteName(name: string): boolean {
  if (!NOTE_EXTENSIONS.has(extensionOf(name))) return false;
  if (name.length > 64) return false;
  return NOTE_WORDS.test(name) || NOTE_WORDS.test(stemOf(name));
}
