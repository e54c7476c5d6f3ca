/**
 * One `Catalog` out of one implementation's parts. Each part is an instance of a class that
 * implements its concept's interface and has no other methods on its prototype (helpers are module
 * functions or `#private`), so that every method found there is part of the catalog's surface.
 */
import type { Catalog, CatalogParts } from "./catalog.js";

type Method = (...args: unknown[]) => unknown;

/**
 * Every method of every part on one object, looked up on its part at each call (a test may wrap a
 * method on a part's class after the catalog is open). Two parts defining one name is a bug of the
 * implementation, refused here rather than letting one silently answer for the other.
 */
export function composeCatalog(parts: CatalogParts, close: () => Promise<void>): Catalog {
  const catalog: Record<string, Method> = { close };
  for (const part of Object.values(parts) as Record<string, Method>[]) {
    for (const name of methodNames(part)) {
      if (name in catalog) throw new Error(`two parts of the catalog define ${name}`);
      catalog[name] = (...args) => (part[name] as Method).apply(part, args);
    }
  }
  return catalog as unknown as Catalog;
}

function methodNames(part: object): string[] {
  const prototype: object = Object.getPrototypeOf(part);
  return Object.getOwnPropertyNames(prototype).filter(
    (name) =>
      name !== "constructor" &&
      typeof Object.getOwnPropertyDescriptor(prototype, name)?.value === "function",
  );
}
