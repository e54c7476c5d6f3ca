/**
 * One wire message: its JSON Schema (which is also its OpenAPI component), its TypeScript type
 * (`Static<typeof schema>`) and its checks, for the server reading a request and for the agent
 * reading an answer. The validator is compiled on first use, so a command that never sends a
 * message never pays for compiling it.
 */
import type { Static, TSchema } from "typebox";
import { Compile, type Validator } from "typebox/compile";
import { RempartError } from "../errors.js";

/** A request that breaks its schema; the server answers it as 400 BadRequest with the message. */
export class ValidationError extends Error {
  /** Where in the body, as a dotted path (`last_backup.outcome`); empty for the body itself. */
  readonly field: string;

  constructor(message: string, field: string) {
    super(message);
    this.name = "ValidationError";
    this.field = field;
  }
}

export interface Message<S extends TSchema> {
  /** The name of its OpenAPI component. */
  readonly name: string;
  readonly schema: S;
  /** Whether the value has the message's shape. */
  is(value: unknown): value is Static<S>;
  /** The value, typed; otherwise a `ValidationError` naming the first field at fault and why. */
  parse(value: unknown): Static<S>;
  /** The value, typed; otherwise an `Io` error: the server at `origin` sent something malformed. */
  answer(value: unknown, origin: string): Static<S>;
}

interface SchemaError {
  readonly keyword: string;
  readonly schemaPath: string;
  readonly instancePath: string;
  readonly params: object;
  readonly message: string;
}

/** `/last_backup/outcome` → `last_backup.outcome`. */
function fieldOf(instancePath: string): string {
  return instancePath
    .split("/")
    .slice(1)
    .map((part) => part.replaceAll("~1", "/").replaceAll("~0", "~"))
    .join(".");
}

/** The sub-schema a `schemaPath` such as `#/properties/name` points at. */
function schemaAt(schema: TSchema, schemaPath: string): Readonly<Record<string, unknown>> {
  let node: unknown = schema;
  for (const part of schemaPath.split("/").slice(1))
    node = (node as Record<string, unknown> | undefined)?.[part];
  return typeof node === "object" && node !== null ? (node as Record<string, unknown>) : {};
}

/**
 * One sentence for the first field at fault: its path and the reason. A pattern failure reads as
 * "is malformed", with the pattern's description (what a tenant name is) rather than the regex.
 * A union's branches each report; they are joined into one "or".
 */
export function describe(schema: TSchema, errors: readonly SchemaError[], what: string): string {
  // `boolean` repeats an additionalProperties refusal (the false schema each extra key meets).
  const first = errors.find((e) => e.keyword !== "boolean");
  if (first === undefined) return `${what} is malformed`;
  const field = fieldOf(first.instancePath);
  const subject = field === "" ? what : JSON.stringify(field);
  const same = errors.filter((e) => e.instancePath === first.instancePath);
  if (same.some((e) => e.keyword === "anyOf")) {
    const branches = same.filter((e) => e.keyword !== "anyOf").map((e) => e.message);
    return `${subject} ${[...new Set(branches)].join(", or ")}`;
  }
  if (first.keyword === "pattern" || first.keyword === "format") {
    const description = schemaAt(schema, first.schemaPath).description;
    return `${subject} is malformed: ${typeof description === "string" ? description : first.message}`;
  }
  if (first.keyword === "additionalProperties") {
    const extra = (first.params as { additionalProperties?: unknown }).additionalProperties;
    return `${subject} has unknown field(s): ${Array.isArray(extra) ? extra.join(", ") : "?"}`;
  }
  return `${subject} ${first.message}`;
}

export function message<S extends TSchema>(name: string, schema: S): Message<S> {
  let compiled: Validator | undefined;
  const validator = () => {
    compiled ??= Compile(schema);
    return compiled;
  };
  const is = (value: unknown): value is Static<S> => validator().Check(value);
  return {
    name,
    schema,
    is,
    parse(value) {
      if (is(value)) return value;
      const errors: readonly SchemaError[] = validator().Errors(value);
      const first = errors.find((e) => e.keyword !== "boolean");
      throw new ValidationError(
        describe(schema, errors, `the ${name} body`),
        fieldOf(first?.instancePath ?? ""),
      );
    },
    answer(value, origin) {
      if (is(value)) return value;
      const reason = describe(schema, validator().Errors(value), "the answer");
      throw new RempartError(
        "Io",
        `the Rempart server at ${origin} sent a malformed ${name}: ${reason}`,
        {
          server: origin,
          message: name,
        },
      );
    },
  };
}
