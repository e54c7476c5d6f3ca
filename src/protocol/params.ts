/**
 * The path and query parameters of the routes, each a schema whose description the OpenAPI
 * document shows. Parameters arrive as text: the query's numbers are integers once parsed.
 */
import Type from "#typebox";
import { OBJECT_KINDS, type ObjectKind } from "../storage/object-store.js";
import { MAX_LISTING_PAGE } from "./constants.js";
import { AgentId, ObjectName, TENANT_NAME_PATTERN } from "./patterns.js";

export const KindParam = Type.Enum(OBJECT_KINDS, { description: OBJECT_KINDS.join(", ") });

export function isObjectKind(value: string): value is ObjectKind {
  return (OBJECT_KINDS as readonly string[]).includes(value);
}

export const NameParam = ObjectName;

export const TenantParam = Type.String({
  pattern: TENANT_NAME_PATTERN,
  description: "the tenant's name",
});

export const AgentParam = Type.String({ ...AgentId, description: "the agent's id" });

export const ListingLimit = Type.Integer({
  minimum: 1,
  maximum: MAX_LISTING_PAGE,
  description: `at most this many (1 to ${MAX_LISTING_PAGE}, the default)`,
});

export const ListingCursor = Type.String({
  ...ObjectName,
  description: "where the page starts: the `next` of the previous page",
});

export const RangeHeader = Type.String({
  description: 'one range: "bytes=first-last", "bytes=first-" or "bytes=-count"',
});
