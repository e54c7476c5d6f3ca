/**
 * One wire message: its JSON Schema (which is also its OpenAPI component), its TypeScript type
 * (`Static<typeof schema>`) and its checks, for the server reading a request and for the agent
 * reading an answer. The validator is compiled on first use, so a command that never sends a
 * message never pays for compiling it.
 */
import { Compile, type Static, type TSchema, type Validator } from "#typebox";
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
 * The first field at fault and one sentence saying why. A pattern failure reads as "is
 * malformed", with the pattern's description (what a tenant name is) rather than the regex; a
 * union's branches each report, joined into one "or"; a missing field is named itself.
 */
function fault(
  schema: TSchema,
  errors: readonly SchemaError[],
  what: string,
): { field: string; reason: string } {
  // `boolean` repeats an additionalProperties refusal (the false schema each extra key meets).
  const first = errors.find((e) => e.keyword !== "boolean");
  if (first === undefined) return { field: "", reason: `${what} is malformed` };
  const at = fieldOf(first.instancePath);
  const said = (field: string, reason: string) => ({
    field,
    reason: `${field === "" ? what : JSON.stringify(field)} ${reason}`,
  });
  if (first.keyword === "required") {
    const missing = (first.params as { requiredProperties?: unknown }).requiredProperties;
    const names = Array.isArray(missing) ? missing.map(String) : [];
    const path = (name: string) => (at === "" ? name : `${at}.${name}`);
    return said(
      path(names[0] ?? "?"),
      `is required${names.length > 1 ? ` (so are ${names.slice(1).map(path).join(", ")})` : ""}`,
    );
  }
  const same = errors.filter((e) => e.instancePath === first.instancePath);
  if (same.some((e) => e.keyword === "anyOf")) {
    const branches = same.filter((e) => e.keyword !== "anyOf").map((e) => e.message);
    return said(at, [...new Set(branches)].join(", or "));
  }
  if (first.keyword === "pattern" || first.keyword === "format") {
    const description = schemaAt(schema, first.schemaPath).description;
    return said(
      at,
      `is malformed: ${typeof description === "string" ? description : first.message}`,
    );
  }
  if (first.keyword === "additionalProperties") {
    const extra = (first.params as { additionalProperties?: unknown }).additionalProperties;
    return said(at, `has unknown field(s): ${Array.isArray(extra) ? extra.join(", ") : "?"}`);
  }
  return said(at, first.message);
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
      const { field, reason } = fault(schema, validator().Errors(value), `the ${name} body`);
      throw new ValidationError(reason, field);
    },
    answer(value, origin) {
      if (is(value)) return value;
      const { reason } = fault(schema, validator().Errors(value), "the answer");
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
