import { resolve } from "node:path";
import { RempartError } from "../../errors.js";
import type { DiskReserve } from "../../server/quota.js";
import { startServer } from "../../server/server.js";
import type { Command, OptionTable } from "../command.js";
import { EXIT } from "../exit-codes.js";
import { parseSize } from "./admin.js";

const options = {
  data: { type: "string" },
  listen: { type: "string" },
  "tls-cert": { type: "string" },
  "tls-key": { type: "string" },
  "default-quota": { type: "string" },
  "disk-reserve": { type: "string" },
  "upload-memory": { type: "string" },
  "connections-per-address": { type: "string" },
} satisfies OptionTable;

/** `--disk-reserve 2G` or `--disk-reserve 5%`. */
export function parseReserve(text: string): DiskReserve {
  const percent = /^(\d{1,2}(?:\.\d+)?)%$/.exec(text.trim());
  if (percent) return { percent: Number(percent[1]) };
  return { bytes: parseSize(text) };
}

export const DEFAULT_LISTEN = "127.0.0.1:8443";

/** `HOST:PORT`, with IPv6 hosts in brackets (`[::1]:8443`). */
export function parseListen(text: string): { host: string; port: number } {
  const match = /^(?:\[([0-9A-Fa-f:.]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(text);
  const port = Number(match?.[3]);
  const host = match?.[1] ?? match?.[2];
  if (host === undefined || !Number.isInteger(port) || port > 65535)
    throw new RempartError(
      "InvalidArgument",
      `--listen wants HOST:PORT (e.g. ${DEFAULT_LISTEN}, 0.0.0.0:8443 or [::]:8443), not ${JSON.stringify(text)}`,
    );
  return { host, port };
}

function optionalQuota(text: string | undefined): number | null | undefined {
  if (text === undefined) return undefined;
  return text.trim().toLowerCase() === "none" ? null : parseSize(text);
}

function optionalReserve(text: string | undefined): DiskReserve | undefined {
  return text === undefined ? undefined : parseReserve(text);
}

function uploadMemory(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  try {
    return parseSize(text);
  } catch {
    throw new RempartError(
      "InvalidArgument",
      `--upload-memory wants a size such as 512M or 1G, not ${JSON.stringify(text)}`,
    );
  }
}

function connectionsPerAddress(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const count = /^\d{1,6}$/.test(text) ? Number(text) : 0;
  if (count < 1)
    throw new RempartError(
      "InvalidArgument",
      `--connections-per-address wants a whole number of at least 1, not ${JSON.stringify(text)}`,
    );
  return count;
}

function untilSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const stop = (signal: NodeJS.Signals) => {
      process.off("SIGINT", stop);
      process.off("SIGTERM", stop);
      // A second signal while closing: the operator wants out now.
      const force = () => process.exit(EXIT.error);
      process.once("SIGINT", force);
      process.once("SIGTERM", force);
      resolve(signal);
    };
    process.on("SIGINT", stop);
    process.on("SIGTERM", stop);
  });
}

export const serverCommand: Command = {
  name: "server",
  summary: "run the backup server (HTTPS) until SIGINT or SIGTERM",
  usage:
    "rempart server [--data DIR] [--listen HOST:PORT] [--tls-cert FILE --tls-key FILE]\n" +
    "       [--default-quota SIZE|none (1T)] [--disk-reserve SIZE|N% (2G)]\n" +
    "       [--upload-memory SIZE] [--connections-per-address N] [--json]",
  options,
  async run(context) {
    const { output } = context;
    const dataDir = resolve(context.string("data") ?? "data");
    const memory = uploadMemory(context.string("upload-memory"));
    const perAddress = connectionsPerAddress(context.string("connections-per-address"));
    const stopped = untilSignal();
    const server = await startServer({
      dataDir,
      listen: parseListen(context.string("listen") ?? DEFAULT_LISTEN),
      tlsCert: context.string("tls-cert"),
      tlsKey: context.string("tls-key"),
      defaultQuotaBytes: optionalQuota(context.string("default-quota")),
      diskReserve: optionalReserve(context.string("disk-reserve")),
      log: (line) => output.warn(line),
      uploadMemoryBytes: memory,
      limits: perAddress === undefined ? {} : { connectionsPerAddress: perAddress },
    });
    const admin = server.firstAdminPassword;
    if (output.json) {
      output.object({
        url: server.url,
        fingerprint: server.fingerprint,
        data: dataDir,
        first_admin: admin === undefined ? null : { username: "admin", password: admin },
      });
    } else {
      output.line(`Rempart server listening on ${server.url} (data in ${dataDir})`);
      output.line(`TLS certificate SHA-256 fingerprint (agents pin it): ${server.fingerprint}`);
      if (admin !== undefined) {
        output.line(`first admin login: username admin, password ${admin}`);
        output.line("  (shown this once; only its hash is stored)");
      }
      output.line(
        `create a tenant: rempart admin tenant create NAME --retention-days 90 --data ${dataDir}`,
      );
    }
    const signal = await stopped;
    output.warn(`${signal}: closing (in-flight requests get a few seconds to finish)`);
    await server.close();
    return EXIT.ok;
  },
};
