/**
 * FastCDC's inner loop (the gear rolling hash) as a small WebAssembly function over its own
 * memory: the gear table at offset 0, then a window of bytes that callers read files into and
 * that the loop scans in place. Compiled V8 JavaScript checked the bounds of both typed arrays
 * on every byte; the same loop in WebAssembly took 41 ms instead of 70 for 64 MiB of random data
 * (CPU, best of 6, busy machine): FastCDC was ≈9 % of an initial backup's CPU.
 *
 * The module is assembled here from its instructions rather than shipped as an opaque blob, so
 * that what runs can be read (the text format is in the comment above BODY). Node run with
 * --jitless has no WebAssembly: the backup then fails at its start, which bin/rempart never does.
 */

/**
 * The part of the WebAssembly JavaScript API used here: Node has it, but neither the ES library
 * nor Node 20's type definitions declare it. Declarations only; the global is Node's.
 */
declare namespace WebAssembly {
  class Module {
    constructor(bytes: Uint8Array);
  }
  class Memory {
    constructor(descriptor: { initial: number; maximum?: number });
    readonly buffer: ArrayBuffer;
  }
  class Instance {
    constructor(module: Module, imports: Record<string, Record<string, unknown>>);
    readonly exports: Record<string, unknown>;
  }
}

/** Bytes before the window: the 256 gear values as little-endian u32 (what i32.load reads). */
const TABLE_BYTES = 256 * 4;
const PAGE_BYTES = 64 * 1024;
/** Bytes a cut point's hash depends on (see fastcdc.ts): rolled in before `from`. */
const WINDOW = 32;

const I32 = 0x7f;
const VOID = 0x40;
const op = {
  block: 0x02,
  loop: 0x03,
  br: 0x0c,
  brIf: 0x0d,
  ret: 0x0f,
  end: 0x0b,
  localGet: 0x20,
  localSet: 0x21,
  localTee: 0x22,
  i32Load: 0x28,
  i32Load8u: 0x2d,
  i32Const: 0x41,
  i32GeU: 0x4f,
  i32Add: 0x6a,
  i32Sub: 0x6b,
  i32And: 0x71,
  i32Shl: 0x74,
} as const;

// Every i32.const below is under 64, which signed LEB128 (the
// immediate's encoding) writes as the byte itself; 0x7f is -1.
// Parameters and locals, by index.
const FROM = 0;
const TO = 1;
const MASK = 2;
const H = 3;
const I = 4;

/** h = (h << 1) + table[memory[i]], left on the stack. */
// biome-ignore format: grouped as the expression reads
const ROLL = [
  op.localGet, H, op.i32Const, 1, op.i32Shl,
  op.localGet, I, op.i32Load8u, 0, 0, op.i32Const, 2, op.i32Shl, op.i32Load, 2, 0,
  op.i32Add,
];

/**
 * (func $cut (param $from i32) (param $to i32) (param $mask i32) (result i32)
 *   (local $h i32) (local $i i32)
 *   i = from - 32
 *   while (i < from) { h = (h << 1) + table[mem[i]]; i++ }
 *   while (i < to) { h = (h << 1) + table[mem[i]]; i++; if ((h & mask) == 0) return i }
 *   return -1)
 * Offsets are absolute (the window starts at TABLE_BYTES); i32 arithmetic wraps like `| 0`.
 */
// biome-ignore format: one instruction per line group reads like the text above
const BODY = [
  1, 2, I32,
  op.localGet, FROM, op.i32Const, WINDOW, op.i32Sub, op.localSet, I,
  op.block, VOID, op.loop, VOID,
    op.localGet, I, op.localGet, FROM, op.i32GeU, op.brIf, 1,
    ...ROLL, op.localSet, H,
    op.localGet, I, op.i32Const, 1, op.i32Add, op.localSet, I,
    op.br, 0,
  op.end, op.end,
  op.block, VOID, op.loop, VOID,
    op.localGet, I, op.localGet, TO, op.i32GeU, op.brIf, 1,
    ...ROLL, op.localTee, H,
    op.localGet, I, op.i32Const, 1, op.i32Add, op.localSet, I,
    op.localGet, MASK, op.i32And, op.brIf, 0,
    op.localGet, I, op.ret,
  op.end, op.end,
  op.i32Const, 0x7f, // -1
  op.end,
];

function uleb(value: number): number[] {
  const out: number[] = [];
  let rest = value;
  do {
    const low = rest & 0x7f;
    rest >>>= 7;
    out.push(rest === 0 ? low : low | 0x80);
  } while (rest !== 0);
  return out;
}

function section(id: number, ...items: number[][]): number[] {
  const content = [...uleb(items.length), ...items.flat()];
  return [id, ...uleb(content.length), ...content];
}

function text(value: string): number[] {
  return [...uleb(value.length), ...Buffer.from(value, "ascii")];
}

let compiled: WebAssembly.Module | undefined;

/** Imports its memory ("m" "memory", at least one page) and exports `cut`. */
function gearModule(): WebAssembly.Module {
  compiled ??= new WebAssembly.Module(
    new Uint8Array([
      ...[0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00],
      ...section(1, [0x60, 3, I32, I32, I32, 1, I32]),
      ...section(2, [...text("m"), ...text("memory"), 0x02, 0x00, 1]),
      ...section(3, [0]),
      ...section(7, [...text("cut"), 0x00, 0]),
      ...section(10, [...uleb(BODY.length), ...BODY]),
    ]),
  );
  return compiled;
}

/** A window of `size` bytes to read into, scanned in place with one gear table. */
export class GearScanner {
  /** where callers put the bytes to scan; never reallocated */
  readonly window: Uint8Array;
  private readonly cut: (from: number, to: number, mask: number) => number;

  constructor(table: Uint32Array, size: number) {
    const pages = Math.ceil((TABLE_BYTES + size) / PAGE_BYTES);
    // The memory never grows: with a maximum, V8 reserves no more address space than it holds
    // when bounds are checked inline (bin/rempart under an address-space limit).
    const memory = new WebAssembly.Memory({ initial: pages, maximum: pages });
    const gear = new DataView(memory.buffer, 0, TABLE_BYTES);
    for (let i = 0; i < 256; i++) gear.setUint32(i * 4, table[i] as number, true);
    this.window = new Uint8Array(memory.buffer, TABLE_BYTES, size);
    const instance = new WebAssembly.Instance(gearModule(), { m: { memory } });
    this.cut = instance.exports.cut as (from: number, to: number, mask: number) => number;
  }

  /**
   * The window offset just past the first byte in [from, to) after which (hash & mask) === 0,
   * or -1; the hash first rolls over the WINDOW bytes before `from`, which must be in the window.
   */
  firstCut(from: number, to: number, mask: number): number {
    const cut = this.cut(from + TABLE_BYTES, to + TABLE_BYTES, mask);
    return cut < 0 ? cut : cut - TABLE_BYTES;
  }
}
