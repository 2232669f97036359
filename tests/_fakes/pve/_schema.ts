/**
 * Parameter schemas and the checks of pve-common's `PVE::JSONSchema`
 * (`additionalProperties => 0` everywhere), with its messages.
 *
 * @module
 */

import { paramError } from "./_errors.ts";

/** One parameter's schema. */
export type Prop =
  | { type: "integer"; optional?: boolean; minimum?: number; format?: "pve-vmid" }
  | { type: "boolean"; optional?: boolean }
  | {
    type: "string";
    optional?: boolean;
    enum?: readonly string[];
    maxLength?: number;
    /** Another parameter that must be set when this one is. */
    requires?: string;
  };

/** The parameters of one method, URI parameters included. */
export type Schema = Record<string, Prop>;

/** Checked parameters: integers as numbers, booleans as booleans. */
export type Params = Record<string, string | number | boolean>;

/** The standard `pve-node` and `pve-vmid` options. */
export const node: Prop = { type: "string" };
export const vmid: Prop = { type: "integer", format: "pve-vmid", minimum: 100 };

/**
 * Validates `params` against `schema`, collecting every error like `validate` does.
 * @throws {PveError} 400 `Parameter verification failed.` with `errors`.
 */
export function validate(schema: Schema, params: Record<string, unknown>): Params {
  const errors: Record<string, string> = {};
  const out: Params = {};
  for (const name of Object.keys(params)) {
    if (!(name in schema)) {
      errors[name] =
        "property is not defined in schema and the schema does not allow additional properties";
    }
  }
  for (const [name, prop] of Object.entries(schema)) {
    const value = params[name];
    if (value === undefined || value === null) {
      if (!prop.optional) errors[name] = "property is missing and it is not optional";
      continue;
    }
    const result = check(prop, value);
    if (typeof result === "object") errors[name] = result.error;
    else out[name] = result;
    if (prop.type === "string" && prop.requires !== undefined) {
      const other = params[prop.requires];
      if (other === undefined || other === null) {
        errors[prop.requires] = `missing property required by '${name}'`;
      }
    }
  }
  if (Object.keys(errors).length > 0) throw paramError(errors);
  return out;
}

function check(prop: Prop, value: unknown): string | number | boolean | { error: string } {
  const text = String(value);
  switch (prop.type) {
    case "integer": {
      if (typeof value === "object" || !/^-?\d+$/.test(text)) {
        return { error: `type check ('integer') failed - got '${text}'` };
      }
      if (prop.format === "pve-vmid" && !/^[1-9][0-9]{2,8}$/.test(text)) {
        return { error: "invalid format - value does not look like a valid VM ID\n" };
      }
      const n = Number(text);
      if (prop.minimum !== undefined && n < prop.minimum) {
        return { error: `value must have a minimum value of ${prop.minimum}` };
      }
      return n;
    }
    case "boolean": {
      if (typeof value === "boolean") return value;
      if (text === "1" || text === "0") return text === "1";
      return { error: `type check ('boolean') failed - got '${text}'` };
    }
    case "string": {
      if (typeof value === "object") {
        return { error: `type check ('string') failed - got '${text}'` };
      }
      if (prop.maxLength !== undefined && text.length > prop.maxLength) {
        return { error: `value may only be ${prop.maxLength} characters long` };
      }
      if (prop.enum && !prop.enum.includes(text)) {
        return {
          error: `value '${text}' does not have a value in the enumeration '${
            prop.enum.join(", ")
          }'`,
        };
      }
      return text;
    }
  }
}
