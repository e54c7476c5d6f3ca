import { addOperator, listOperators } from "../../../server/admin.js";
import type { Command } from "../../command.js";
import { EXIT } from "../../exit-codes.js";
import { day, withDataDir } from "./session.js";

const add: Command = {
  name: "add",
  summary: "create an operator login; its password is printed once",
  usage: "rempart admin operator add USERNAME --role admin|technician",
  arguments: [{ syntax: "<USERNAME>", help: "the operator's login" }],
  options: {
    role: {
      type: "string",
      value: "ROLE",
      required: true,
      help: "admin (everything) or technician (day-to-day operations)",
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
          `${operator.username}  ${operator.role}${operator.disabled ? "  disabled" : ""}  (id ${operator.id}, created ${day(operator.created_at)})`,
        );
    return EXIT.ok;
  }),
};

export const operatorCommand: Command = {
  name: "operator",
  summary: "add and list the MSP's operators",
  usage: "rempart admin operator add USERNAME --role admin|technician | operator list",
  options: {},
  subcommands: [add, list],
};
