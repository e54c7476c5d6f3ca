import QRCode from "qrcode";
import { OPERATOR_ROLES } from "../../../catalog/catalog.js";
import { addOperator, listOperators } from "../../../server/admin.js";
import {
  confirmTotp,
  disableOperator,
  enrollTotp,
  resetTotp,
  setOperatorRole,
  unlockOperator,
} from "../../../server/operators/admin.js";
import { openSecretBox } from "../../../server/operators/secret-box.js";
import type { Command } from "../../command.js";
import { EXIT } from "../../exit-codes.js";
import { day, withDataDir } from "./session.js";

const USERNAME_ARGUMENT = { syntax: "<USERNAME>", help: "the operator's login" };
const ROLES = OPERATOR_ROLES.join("|");

const add: Command = {
  name: "add",
  summary: "create an operator login; its password is printed once",
  usage: `rempart admin operator add USERNAME --role ${ROLES}`,
  arguments: [USERNAME_ARGUMENT],
  options: {
    role: {
      type: "string",
      value: "ROLE",
      required: true,
      help: "admin (everything), technician (day-to-day operations) or read-only (list and show)",
    },
  },
  run: withDataDir(async (context, admin) => {
    const { output } = context;
    const { operator, password } = await addOperator(
      admin.ctx,
      await admin.actor(),
      context.argument(0),
      context.required("role"),
    );
    if (output.json) output.object({ ...operator, password });
    else {
      output.line(`created operator ${operator.username} (${operator.role}, id ${operator.id})`);
      output.line(`password (shown this once, only its hash is stored): ${password}`);
    }
    return EXIT.ok;
  }),
};

const list: Command = {
  name: "list",
  summary: "list the operators",
  usage: "rempart admin operator list",
  options: {},
  run: withDataDir(async ({ output }, admin) => {
    const operators = await listOperators(admin.ctx);
    if (output.json) output.object(operators);
    else
      for (const operator of operators)
        output.line(
          `${operator.username}  ${operator.role}  ${operator.totp ? "totp" : "no-totp"}${operator.disabled ? "  disabled" : ""}  (id ${operator.id}, created ${day(operator.created_at)})`,
        );
    return EXIT.ok;
  }),
};

const totpEnroll: Command = {
  name: "enroll",
  summary: "show a new TOTP secret (otpauth:// URI and QR code); active once confirmed with a code",
  usage: "rempart admin operator totp enroll USERNAME",
  arguments: [USERNAME_ARGUMENT],
  options: {},
  run: withDataDir(async (context, admin) => {
    const { output } = context;
    const username = context.argument(0);
    const { uri, secret } = await enrollTotp(
      admin.ctx,
      await admin.actor(),
      await openSecretBox(admin.dataDir),
      username,
    );
    if (output.json) output.object({ username, uri, secret });
    else {
      // Colours on a terminal, so the code scans whatever the theme; plain blocks elsewhere.
      const qr = await QRCode.toString(
        uri,
        process.stdout.isTTY ? { type: "terminal", small: true } : { type: "utf8" },
      );
      output.line(`scan this with an authenticator app (or type the secret ${secret}):`);
      output.line(qr);
      output.line(uri);
      output.line(
        `then confirm with the code it shows: rempart admin operator totp confirm ${username} CODE`,
      );
      output.line("until then logins of this operator stay as they were");
    }
    return EXIT.ok;
  }),
};

const totpConfirm: Command = {
  name: "confirm",
  summary: "activate the enrolled TOTP secret with a first code; the operator's sessions end",
  usage: "rempart admin operator totp confirm USERNAME CODE",
  arguments: [USERNAME_ARGUMENT, { syntax: "<CODE>", help: "the 6 digits the app shows" }],
  options: {},
  run: withDataDir(async (context, admin) => {
    const username = context.argument(0);
    await confirmTotp(
      admin.ctx,
      await admin.actor(),
      await openSecretBox(admin.dataDir),
      username,
      context.argument(1),
    );
    if (context.output.json) context.output.object({ username, totp: true });
    else context.output.line(`TOTP is active for ${username}: logins now need a code`);
    return EXIT.ok;
  }),
};

const totpReset: Command = {
  name: "reset",
  summary: "remove an operator's TOTP (a lost phone); their sessions end",
  usage: "rempart admin operator totp reset USERNAME",
  arguments: [USERNAME_ARGUMENT],
  options: {},
  run: withDataDir(async (context, admin) => {
    const username = context.argument(0);
    await resetTotp(admin.ctx, await admin.actor(), username);
    if (context.output.json) context.output.object({ username, totp: false });
    else
      context.output.line(
        `TOTP removed for ${username}: enrol again with rempart admin operator totp enroll ${username}`,
      );
    return EXIT.ok;
  }),
};

const totp: Command = {
  name: "totp",
  summary: "enrol, confirm or reset an operator's TOTP second factor",
  usage:
    "rempart admin operator totp enroll USERNAME | totp confirm USERNAME CODE | totp reset USERNAME",
  options: {},
  subcommands: [totpEnroll, totpConfirm, totpReset],
};

const unlock: Command = {
  name: "unlock",
  summary: "lift the failed-login lock of a username",
  usage: "rempart admin operator unlock USERNAME",
  arguments: [USERNAME_ARGUMENT],
  options: {},
  run: withDataDir(async (context, admin) => {
    const username = context.argument(0);
    await unlockOperator(admin.ctx, await admin.actor(), username);
    if (context.output.json) context.output.object({ username, unlocked: true });
    else context.output.line(`${username} may log in again (its failed logins are forgotten)`);
    return EXIT.ok;
  }),
};

const role: Command = {
  name: "role",
  summary: "change an operator's role; their sessions and API tokens follow at their next request",
  usage: `rempart admin operator role USERNAME ${ROLES}`,
  arguments: [USERNAME_ARGUMENT, { syntax: "<ROLE>", help: ROLES }],
  options: {},
  run: withDataDir(async (context, admin) => {
    const username = context.argument(0);
    await setOperatorRole(admin.ctx, await admin.actor(), username, context.argument(1));
    if (context.output.json) context.output.object({ username, role: context.argument(1) });
    else context.output.line(`${username} is now ${context.argument(1)}`);
    return EXIT.ok;
  }),
};

const disable: Command = {
  name: "disable",
  summary: "disable an operator who left: sessions end, API tokens stop, no new login",
  usage: "rempart admin operator disable USERNAME",
  arguments: [USERNAME_ARGUMENT],
  options: {},
  run: withDataDir(async (context, admin) => {
    const username = context.argument(0);
    await disableOperator(admin.ctx, await admin.actor(), username);
    if (context.output.json) context.output.object({ username, disabled: true });
    else context.output.line(`${username} is disabled: sessions ended, API tokens refused`);
    return EXIT.ok;
  }),
};

export const operatorCommand: Command = {
  name: "operator",
  summary: "add, list, change and disable the MSP's operators, manage their TOTP and lockouts",
  usage: `rempart admin operator add USERNAME --role ${ROLES} | list | role USERNAME ROLE | disable USERNAME | totp enroll|confirm|reset USERNAME | unlock USERNAME`,
  options: {},
  subcommands: [add, list, role, disable, totp, unlock],
};
