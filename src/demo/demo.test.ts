/**
 * `rempart demo` as a newcomer runs it: the real command under `ulimit -n 256`, in a temporary
 * directory of its own (TMPDIR), which must hold nothing afterwards: the whole story holds, and
 * neither a server nor a file is left behind, also when interrupted with Ctrl-C.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { existsSync, readdirSync } from "node:fs";
import { connect } from "node:net";
import { join } from "node:path";
import { describe, it } from "node:test";
import { PROJECT_ROOT, tempDir } from "../testing/cli.js";

const REMPART = join(PROJECT_ROOT, "bin", "rempart");

function startDemo(tmp: string, args: readonly string[] = []) {
  const child = spawn("sh", ["-c", 'ulimit -n 256 && exec "$0" demo "$@"', REMPART, ...args], {
    env: { ...process.env, TMPDIR: tmp },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout.setEncoding("utf8").on("data", (text: string) => {
    stdout += text;
  });
  child.stderr.setEncoding("utf8").on("data", (text: string) => {
    stderr += text;
  });
  return {
    child,
    output: () => stdout,
    errors: () => stderr,
    exited: once(child, "close") as Promise<[number | null, NodeJS.Signals | null]>,
  };
}

/** Whether something still accepts connections on 127.0.0.1:port. */
async function listening(port: number): Promise<boolean> {
  const socket = connect(port, "127.0.0.1");
  try {
    await once(socket, "connect");
    return true;
  } catch {
    return false;
  } finally {
    socket.destroy();
  }
}

describe("rempart demo", () => {
  it("plays the whole story under ulimit -n 256, exits 0 and leaves nothing behind", async (t) => {
    const tmp = tempDir(t, "demo");
    const demo = startDemo(tmp);
    const [code] = await demo.exited;
    const said = demo.output();
    assert.equal(code, 0, `${said}\n${demo.errors()}`);
    for (const word of [
      /verdict (RANSOMWARE|SUSPICIOUS)/,
      /alert #\d+/,
      /on hold/,
      /refused, HTTP 403 AppendOnly/,
      /refused, HTTP 422 HashMismatch/,
      /bit-exact/,
      /Every step held/,
    ])
      assert.match(said, word);
    const folder = /working folder: (\S+)/.exec(said)?.[1];
    assert.ok(folder?.startsWith(tmp), said);
    assert.equal(existsSync(folder as string), false, "the demo's folder is removed");
    assert.deepEqual(readdirSync(tmp), []);
    const port = Number(/listening on https:\/\/127\.0\.0\.1:(\d+)/.exec(said)?.[1]);
    assert.equal(await listening(port), false, "the demo's server is stopped");
  });

  it("stops its server and removes its folder when interrupted", async (t) => {
    const tmp = tempDir(t, "demo-int");
    const demo = startDemo(tmp, ["--json"]);
    t.after(() => demo.child.kill("SIGKILL"));
    // Interrupted once the server runs and the agent is enrolled, in the middle of the story.
    while (!demo.output().includes('"step":3')) {
      assert.equal(demo.child.exitCode, null, demo.errors());
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    demo.child.kill("SIGINT");
    const [code] = await demo.exited;
    assert.equal(code, 130, demo.errors());
    assert.match(demo.errors(), /interrupted/);
    assert.deepEqual(readdirSync(tmp), []);
    const first = JSON.parse(demo.output().split("\n")[0] ?? "{}") as { happened: string[] };
    const port = Number(/127\.0\.0\.1:(\d+)/.exec(first.happened.join(" "))?.[1]);
    assert.ok(port > 0);
    assert.equal(await listening(port), false, "the demo's server is stopped");
  });
});
