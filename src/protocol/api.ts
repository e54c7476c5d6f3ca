/**
 * The wire contract between agents, operators' CLI and the server, written once and used by both
 * ends (as Proxmox Backup Server does with pbs-api-types): its constants, and one message per body
 * (messages.ts) whose schema checks requests on the server, answers on the agent, and is the
 * OpenAPI component the server publishes at /v1/openapi.json.
 *
 * docs/SERVER.md explains the routes.
 */
export * from "./constants.js";
export { type Message, ValidationError } from "./message.js";
export * from "./messages.js";
export * from "./params.js";
export * from "./reports.js";
