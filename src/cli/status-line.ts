/** Fitting a transient status line to the terminal (Output.status). */
import stringWidth from "string-width";

const graphemes = new Intl.Segmenter(undefined, { granularity: "grapheme" });

/**
 * `text` cut to less than `columns` terminal columns, whole characters only. A status line that
 * wraps cannot be erased by `\r`: a path of wide characters (日本語, emoji) counted in UTF-16 units
 * would take up to twice the width it was given.
 */
export function fitToColumns(text: string, columns: number): string {
  if (stringWidth(text) < columns) return text;
  let fitted = "";
  let width = 0;
  for (const { segment } of graphemes.segment(text)) {
    width += stringWidth(segment);
    if (width >= columns) break;
    fitted += segment;
  }
  return fitted;
}
