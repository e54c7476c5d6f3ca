import { API_TOKEN_SCOPES } from "../../../catalog/catalog.js";
import { ADMIN_USERNAME } from "../../../server/data-dir.js";
import {
  type ApiTokenView,
  createApiToken,
  listApiTokens,
  revokeApiToken,
} from "../../../server/operators/admin.js";
import type { Command } from "../../command.js";
import { EXIT } from "../../exit-codes.js";
import type { Output } from "../../output.js";
import { parseDuration } from "../../units.js";
import { day, withDataDir } from "./session.js";

/** Long-lived secrets in scripts leak; a token lives 90 days unless told otherwise. */
const DEFAULT_EXPIRY = "90d";
const SCOPES = API_TOKEN_SCOPES.join("|");

function tokenState(token: ApiTokenView, now: Date): string {
  if (token.revoked_at !== null) return `revoked ${day(token.revoked_at)}`;
  if (token.expires_at !== null && new Date(token.expires_at) <= now) return "expired";
  return `active until ${token.expires_at === null ? "never" : day(token.expires_at)}`;
}

function printTokens(output: Output, tokens: readonly ApiTokenView[], now: Date): void {
  if (tokens.length === 0) output.line("no API tokens");
  for (const token of tokens)
    output.line(
      `${token.id}  ${token.name}  operator ${token.operator}  scopes ${token.scopes.join(",")}  ${tokenState(token, now)}  last used ${day(token.last_used_at)}`,
    );
}

const create: Command = {
  name: "create",
  summary: "make an API token for automation; it is printed once",
  usage: `rempart admin token create --name NAME --scope ${SCOPES} [--scope …] [--operator USERNAME] [--expires 90d|never]`,
  options: {
    name: {
      type: "string",
      value: "NAME",
      required: true,
      help: "what it is for, unique per operator",
    },
    scope: {
      type: "string",
      value: "SCOPE",
      multiple: true,
      required: true,
      help: "read-only (list and show), alerts (acknowledge alerts) or tenant-admin (tenant and agent changes); every token may read",
    },
    operator: {
      type: "string",
      value: "USERNAME",
      help: `whose role bounds the token (default: ${ADMIN_USERNAME})`,
    },
    expires: {
      type: "string",
      value: "DURATION",
      help: `how long it works, such as 30d, or never (default: ${DEFAULT_EXPIRY})`,
    },
  },
  run: withDataDir(async (context, admin) => {
    const { output } = context;
    const expires = context.string("expires") ?? DEFAULT_EXPIRY;
    const { token, view } = await createApiToken(admin.ctx, await admin.actor(), {
      name: context.required("name"),
      username: context.string("operator") ?? ADMIN_USERNAME,
      scopes: context.strings("scope").flatMap((scope) => scope.split(",")),
      expiresInMs: expires === "never" ? null : parseDuration(expires, "--expires"),
    });
    if (output.json) output.object({ ...view, token });
    else {
      output.line(
        `API token ${view.name} (id ${view.id}) of ${view.operator}, scopes ${view.scopes.join(",")}, ${tokenState(view, admin.now)}:`,
      );
      output.line(`  ${token}`);
      output.line("shown this once (only its hash is stored); send it as Authorization: Bearer");
    }
    return EXIT.ok;
  }),
};

const list: Command = {
  name: "list",
  summary: "list the API tokens, revoked and expired ones included",
  usage: "rempart admin token list",
  options: {},
  run: withDataDir(async ({ output }, admin) => {
    const tokens = await listApiTokens(admin.ctx);
    if (output.json) output.object(tokens);
    else printTokens(output, tokens, admin.now);
    return EXIT.ok;
  }),
};

const revoke: Command = {
  name: "revoke",
  summary: "revoke an API token: its next request is refused",
  usage: "rempart admin token revoke ID",
  arguments: [{ syntax: "<ID>", help: "the token's id, as token list shows it" }],
  options: {},
  run: withDataDir(async (context, admin) => {
    const token = await revokeApiToken(admin.ctx, await admin.actor(), context.argument(0));
    if (context.output.json) context.output.object(token);
    else
      context.output.line(
        `revoked API token ${token.name} (id ${token.id}) at ${token.revoked_at}`,
      );
    return EXIT.ok;
  }),
};

export const tokenCommand: Command = {
  name: "token",
  summary: "API tokens with scopes, for automation: create, list, revoke",
  usage: `rempart admin token create --name NAME --scope ${SCOPES} | list | revoke ID`,
  options: {},
  subcommands: [create, list, revoke],
};
