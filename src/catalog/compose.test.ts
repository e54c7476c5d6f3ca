import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { CatalogParts } from "./catalog.js";
import { composeCatalog } from "./compose.js";

class Greeter {
  readonly greeting = "hello";
  greet(name: string): string {
    return `${this.greeting} ${name}`;
  }
}

class Counter {
  count(): number {
    return 1;
  }
}

/** Parts of a made-up concept: composeCatalog looks only at what the parts' classes define. */
const partsOf = (parts: Record<string, object>) => parts as unknown as CatalogParts;
const closed = async () => {};

describe("composeCatalog", () => {
  it("answers every method of every part, called on its part, and close", async () => {
    let closes = 0;
    const catalog = composeCatalog(partsOf({ a: new Greeter(), b: new Counter() }), async () => {
      closes += 1;
    }) as unknown as Greeter & Counter & { close(): Promise<void> };
    assert.equal(catalog.greet("you"), "hello you");
    assert.equal(catalog.count(), 1);
    assert.deepEqual(Object.keys(catalog).sort(), ["close", "count", "greet"]);
    await catalog.close();
    assert.equal(closes, 1);
  });

  it("looks a method up on its part at each call, so that a wrapped method is the one called", () => {
    const catalog = composeCatalog(partsOf({ a: new Greeter() }), closed) as unknown as Greeter;
    const greet = Greeter.prototype.greet;
    try {
      Greeter.prototype.greet = function (this: Greeter, name: string) {
        return `${greet.call(this, name)}!`;
      };
      assert.equal(catalog.greet("you"), "hello you!");
    } finally {
      Greeter.prototype.greet = greet;
    }
  });

  it("refuses two parts that define one method", () => {
    assert.throws(
      () => composeCatalog(partsOf({ a: new Greeter(), b: new Greeter() }), closed),
      /two parts of the catalog define greet/,
    );
  });
});
