/**
 * Secrets never come from the command line (visible in `ps` and shell history): the password is
 * read from REMPART_PASSWORD, from --password-file, or from the terminal without echo.
 */
import { readFileSync } from "node:fs";
import { RempartError } from "../errors.js";

export function readFileSecret(path: string, what: string): string {
  try {
    return readFileSync(path, "utf8").replace(/\r?\n$/, "");
  } catch (error) {
    throw new RempartError(
      "InvalidArgument",
      `cannot read ${what} ${path}: ${(error as Error).message}`,
    );
  }
}

function promptHidden(question: string): Promise<string> {
  const input = process.stdin;
  if (!input.isTTY)
    throw new RempartError(
      "InvalidArgument",
      "a password is needed: set REMPART_PASSWORD, pass --password-file, or run in a terminal",
    );
  return new Promise((resolve, reject) => {
    process.stderr.write(question);
    input.setRawMode(true);
    input.resume();
    let typed = "";
    const onData = (data: Buffer) => {
      for (const char of data.toString("utf8")) {
        if (char === "\r" || char === "\n") {
          finish();
          resolve(typed);
          return;
        }
        if (char === "\u0003") {
          finish();
          reject(new RempartError("InvalidArgument", "interrupted"));
          return;
        }
        if (char === "\u007f") typed = typed.slice(0, -1);
        else typed += char;
      }
    };
    const finish = () => {
      input.off("data", onData);
      input.setRawMode(false);
      input.pause();
      process.stderr.write("\n");
    };
    input.on("data", onData);
  });
}

export interface SecretSource {
  readonly file: string | undefined;
  /** environment variable consulted when no file is given */
  readonly env: string;
  readonly prompt: string;
  /** ask twice on a terminal (a new password) */
  readonly confirm: boolean;
}

export async function readPassword(source: SecretSource): Promise<string> {
  if (source.file !== undefined) return readFileSecret(source.file, "password file");
  const fromEnv = process.env[source.env];
  if (fromEnv !== undefined && fromEnv !== "") return fromEnv;
  const password = await promptHidden(`${source.prompt}: `);
  if (source.confirm && (await promptHidden("repeat password: ")) !== password)
    throw new RempartError("InvalidArgument", "the passwords do not match");
  if (password === "")
    throw new RempartError("InvalidArgument", "an empty password is not allowed");
  return password;
}
