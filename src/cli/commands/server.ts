import { resolve } from "node:path";
import type { NewAlertDestination } from "../../catalog/delivery.js";
import { RempartError } from "../../errors.js";
import { SMTP_SECURITY, type SmtpOptions, type SmtpSecurity } from "../../server/delivery/email.js";
import { DEFAULT_LIMITS } from "../../server/limits.js";
import {
  DEFAULT_DISK_RESERVE,
  DEFAULT_TENANT_QUOTA,
  type DiskReserve,
} from "../../server/quota.js";
import { startServer } from "../../server/server.js";
import type { Command, CommandContext, OptionTable } from "../command.js";
import { EXIT } from "../exit-codes.js";
import { formatBytes } from "../output.js";
import { readFileSecret } from "../secrets.js";
import { parseCount, parsePercent, parseSize, parseSizeOrNone } from "../units.js";

const options = {
  data: {
    type: "string",
    value: "DIR",
    help: "the data directory: catalog, tenants' stores, TLS certificate (default: ./data)",
  },
  listen: {
    type: "string",
    value: "HOST:PORT",
    help: "where to listen (default: 127.0.0.1:8443; [::]:8443 for every IPv6 and IPv4 address)",
  },
  "tls-cert": {
    type: "string",
    value: "FILE",
    help: "a PEM certificate to serve, with --tls-key (default: a self-signed one made on first start)",
  },
  "tls-key": { type: "string", value: "FILE", help: "the PEM private key of --tls-cert" },
  "default-quota": {
    type: "string",
    value: "SIZE|none",
    help: `the quota of a tenant created without one (default: ${formatBytes(DEFAULT_TENANT_QUOTA)})`,
  },
  "disk-reserve": {
    type: "string",
    value: "SIZE|N%",
    help: `refuse agent uploads while the data directory's disk has less free (default: ${"bytes" in DEFAULT_DISK_RESERVE ? formatBytes(DEFAULT_DISK_RESERVE.bytes) : `${DEFAULT_DISK_RESERVE.percent}%`})`,
  },
  "upload-memory": {
    type: "string",
    value: "SIZE",
    help: `memory all uploads in flight may hold together before more wait (default: ${formatBytes(DEFAULT_LIMITS.uploadMemoryBytes)})`,
  },
  "connections-per-address": {
    type: "string",
    value: "N",
    help: `concurrent connections one client address may hold (default: ${DEFAULT_LIMITS.connectionsPerAddress})`,
  },
  "alert-webhook": {
    type: "string",
    multiple: true,
    value: "URL",
    help: "POST every tenant's alerts to this http(s) URL, signed with --alert-webhook-secret-file (repeatable)",
  },
  "alert-webhook-secret-file": {
    type: "string",
    value: "FILE",
    help: "the HMAC-SHA256 key the --alert-webhook requests are signed with",
  },
  "alert-email": {
    type: "string",
    multiple: true,
    value: "ADDRESS",
    help: "mail every tenant's alerts to this address through --smtp-host (repeatable)",
  },
  "smtp-host": { type: "string", value: "HOST", help: "the SMTP relay alert emails go through" },
  "smtp-port": {
    type: "string",
    value: "N",
    help: "its port (default: 587 for starttls, 465 for tls, 25 for none)",
  },
  "smtp-security": {
    type: "string",
    value: "MODE",
    help: "starttls (the default: refuse a relay that does not offer it), tls (from the first byte) or none",
  },
  "smtp-user": { type: "string", value: "USER", help: "log in to the relay as USER" },
  "smtp-password-file": { type: "string", value: "FILE", help: "with --smtp-user: its password" },
  "smtp-from": {
    type: "string",
    value: "ADDRESS",
    help: "the sender of alert emails (default: rempart@HOST of --smtp-host)",
  },
  "smtp-ca": {
    type: "string",
    value: "FILE",
    help: "PEM certificates to trust for the relay instead of the system's",
  },
} satisfies OptionTable;

const SMTP_DEFAULT_PORTS: Record<SmtpSecurity, number> = { starttls: 587, tls: 465, none: 25 };

/** The SMTP relay from the flags, or undefined when --smtp-host is not given. */
function smtpOptions(context: CommandContext): SmtpOptions | undefined {
  const host = context.string("smtp-host");
  if (host === undefined) return undefined;
  const security = context.string("smtp-security") ?? "starttls";
  if (!(SMTP_SECURITY as readonly string[]).includes(security))
    throw new RempartError("InvalidArgument", "--smtp-security wants starttls, tls or none");
  const mode = security as SmtpSecurity;
  const user = context.string("smtp-user");
  const passwordFile = context.string("smtp-password-file");
  if ((user === undefined) !== (passwordFile === undefined))
    throw new RempartError("InvalidArgument", "give --smtp-user and --smtp-password-file together");
  const ca = context.string("smtp-ca");
  return {
    host,
    port:
      optional(context.string("smtp-port"), (t) => parseCount(t, "--smtp-port", 1)) ??
      SMTP_DEFAULT_PORTS[mode],
    security: mode,
    user,
    password:
      passwordFile === undefined ? undefined : readFileSecret(passwordFile, "SMTP password file"),
    from: context.string("smtp-from") ?? `rempart@${host}`,
    ca: ca === undefined ? undefined : readFileSecret(ca, "SMTP CA file"),
  };
}

/** Destinations for every tenant's alerts, from the flags. */
function configuredDestinations(context: CommandContext): NewAlertDestination[] {
  const webhooks = context.strings("alert-webhook");
  const secretFile = context.string("alert-webhook-secret-file");
  if (webhooks.length > 0 && secretFile === undefined)
    throw new RempartError(
      "InvalidArgument",
      "--alert-webhook needs --alert-webhook-secret-file: the key its requests are signed with",
    );
  const secret =
    secretFile === undefined ? null : readFileSecret(secretFile, "webhook secret file");
  const emails = context.strings("alert-email");
  if (emails.length > 0 && context.string("smtp-host") === undefined)
    throw new RempartError(
      "InvalidArgument",
      "--alert-email needs --smtp-host: the relay to send through",
    );
  return [
    ...webhooks.map((target) => ({ tenantId: null, kind: "webhook", target, secret }) as const),
    ...emails.map((target) => ({ tenantId: null, kind: "email", target, secret: null }) as const),
  ];
}

/** `--disk-reserve 2G` or `--disk-reserve 5%`. */
export function parseReserve(text: string): DiskReserve {
  return text.trim().endsWith("%")
    ? { percent: parsePercent(text, "--disk-reserve", true) }
    : { bytes: parseSize(text, "--disk-reserve") };
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

/** An option's value through its parser, or undefined when it is not given. */
function optional<T>(text: string | undefined, parse: (text: string) => T): T | undefined {
  return text === undefined ? undefined : parse(text);
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
    "       [--default-quota SIZE|none] [--disk-reserve SIZE|N%] [--upload-memory SIZE]\n" +
    "       [--connections-per-address N] [--alert-webhook URL --alert-webhook-secret-file FILE]\n" +
    "       [--alert-email ADDRESS --smtp-host HOST [--smtp-port N] [--smtp-security MODE]\n" +
    "        [--smtp-user USER --smtp-password-file FILE] [--smtp-from ADDRESS] [--smtp-ca FILE]] [--json]",
  options,
  async run(context) {
    const { output } = context;
    const dataDir = resolve(context.string("data") ?? "data");
    const memory = optional(context.string("upload-memory"), (t) =>
      parseSize(t, "--upload-memory"),
    );
    const perAddress = optional(context.string("connections-per-address"), (t) =>
      parseCount(t, "--connections-per-address", 1),
    );
    const stopped = untilSignal();
    const server = await startServer({
      dataDir,
      listen: parseListen(context.string("listen") ?? DEFAULT_LISTEN),
      tlsCert: context.string("tls-cert"),
      tlsKey: context.string("tls-key"),
      defaultQuotaBytes: optional(context.string("default-quota"), (t) =>
        parseSizeOrNone(t, "--default-quota"),
      ),
      diskReserve: optional(context.string("disk-reserve"), parseReserve),
      log: (line) => output.warn(line),
      uploadMemoryBytes: memory,
      limits: perAddress === undefined ? {} : { connectionsPerAddress: perAddress },
      alertDelivery: { destinations: configuredDestinations(context), smtp: smtpOptions(context) },
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
