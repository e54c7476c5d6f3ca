// The types of `#typebox` (see scripts/vendor.mjs): TypeBox's own, unchanged.
export * from "typebox";
export { default } from "typebox";
export * from "typebox/compile";
