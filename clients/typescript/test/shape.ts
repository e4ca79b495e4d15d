// A run-time shape check against the generated types: reads src/generated/protocol.ts with the
// TypeScript parser and checks a JSON value against a named type, exactly (no missing and no
// unexpected keys), so the tests prove the generated types match what the server really sends.

import { readFileSync } from "node:fs";
import ts from "typescript";

const GENERATED = new URL("../../src/generated/protocol.ts", import.meta.url);
const DEPTH_MAX = 64;

function describe(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  return typeof value === "string" ? `the string ${JSON.stringify(value).slice(0, 40)}` : typeof value;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

export class ShapeChecker {
  readonly #aliases = new Map<string, ts.TypeNode>();

  constructor(path: URL = GENERATED) {
    const text = readFileSync(path, "utf8");
    const source = ts.createSourceFile("protocol.ts", text, ts.ScriptTarget.ES2022, true);
    for (const statement of source.statements) {
      if (ts.isTypeAliasDeclaration(statement)) this.#aliases.set(statement.name.text, statement.type);
    }
  }

  /** Whether the generated module declares this type. */
  has(typeName: string): boolean {
    return this.#aliases.has(typeName);
  }

  /** The mismatches of `value` against the generated type `typeName` (empty when it fits). */
  check(typeName: string, value: unknown): string[] {
    const node = this.#aliases.get(typeName);
    if (node === undefined) return [`no generated type named ${typeName}`];
    const errors: string[] = [];
    this.#check(node, value, typeName, errors, 0);
    return errors;
  }

  #check(node: ts.TypeNode, value: unknown, path: string, errors: string[], depth: number): void {
    if (depth > DEPTH_MAX) {
      errors.push(`${path}: nested deeper than ${DEPTH_MAX}`);
      return;
    }
    const next = depth + 1;
    if (ts.isParenthesizedTypeNode(node)) {
      this.#check(node.type, value, path, errors, next);
    } else if (ts.isUnionTypeNode(node)) {
      const tries = node.types.map((member) => {
        const found: string[] = [];
        this.#check(member, value, path, found, next);
        return found;
      });
      if (tries.some((found) => found.length === 0)) return;
      const closest = tries.reduce((best, found) => (found.length < best.length ? found : best));
      errors.push(`${path}: ${describe(value)} fits no member of ${node.getText()}; closest: ${closest.join("; ")}`);
    } else if (ts.isTypeLiteralNode(node)) {
      this.#checkObject(node, value, path, errors, next);
    } else if (ts.isArrayTypeNode(node)) {
      this.#checkArray(node.elementType, value, path, errors, next);
    } else if (ts.isLiteralTypeNode(node)) {
      this.#checkLiteral(node, value, path, errors);
    } else if (ts.isTypeReferenceNode(node)) {
      this.#checkReference(node, value, path, errors, next);
    } else {
      this.#checkKeyword(node, value, path, errors);
    }
  }

  #checkObject(node: ts.TypeLiteralNode, value: unknown, path: string, errors: string[], depth: number): void {
    if (!isRecord(value)) {
      errors.push(`${path}: expected an object, got ${describe(value)}`);
      return;
    }
    const declared = new Set<string>();
    let index: ts.TypeNode | undefined;
    for (const member of node.members) {
      if (ts.isIndexSignatureDeclaration(member)) {
        index = member.type;
      } else if (ts.isPropertySignature(member) && member.type !== undefined) {
        const key = member.name.getText().replace(/^"|"$/g, "");
        declared.add(key);
        if (!(key in value)) {
          if (member.questionToken === undefined) errors.push(`${path}.${key}: missing`);
          continue;
        }
        this.#check(member.type, value[key], `${path}.${key}`, errors, depth);
      }
    }
    for (const key of Object.keys(value)) {
      if (declared.has(key)) continue;
      if (index === undefined) {
        errors.push(`${path}.${key}: not in the generated type`);
      } else {
        this.#check(index, value[key], `${path}.${key}`, errors, depth);
      }
    }
  }

  #checkArray(element: ts.TypeNode, value: unknown, path: string, errors: string[], depth: number): void {
    if (!Array.isArray(value)) {
      errors.push(`${path}: expected an array, got ${describe(value)}`);
      return;
    }
    value.forEach((item: unknown, i) => {
      this.#check(element, item, `${path}[${i}]`, errors, depth);
    });
  }

  #checkLiteral(node: ts.LiteralTypeNode, value: unknown, path: string, errors: string[]): void {
    const literal = node.literal;
    let expected: unknown;
    if (ts.isStringLiteral(literal)) expected = literal.text;
    else if (ts.isNumericLiteral(literal)) expected = Number(literal.text);
    else if (literal.kind === ts.SyntaxKind.TrueKeyword) expected = true;
    else if (literal.kind === ts.SyntaxKind.FalseKeyword) expected = false;
    else if (literal.kind === ts.SyntaxKind.NullKeyword) expected = null;
    else {
      errors.push(`${path}: the checker does not know the literal ${node.getText()}`);
      return;
    }
    if (value !== expected) errors.push(`${path}: expected ${node.getText()}, got ${describe(value)}`);
  }

  #checkReference(node: ts.TypeReferenceNode, value: unknown, path: string, errors: string[], depth: number): void {
    const name = node.typeName.getText();
    const [first, second] = node.typeArguments ?? [];
    if (name === "Array" && first !== undefined) {
      this.#checkArray(first, value, path, errors, depth);
      return;
    }
    if (name === "Record" && first !== undefined && second !== undefined) {
      if (!isRecord(value)) {
        errors.push(`${path}: expected an object, got ${describe(value)}`);
        return;
      }
      // ts-rs writes an empty struct as Record<symbol, never>: an object without keys.
      const keys = first.kind === ts.SyntaxKind.SymbolKeyword ? [] : null;
      if (keys !== null && Object.keys(value).length > 0) {
        errors.push(`${path}: expected an empty object, got keys ${Object.keys(value).join(", ")}`);
      }
      if (keys === null) for (const [key, item] of Object.entries(value)) this.#check(second, item, `${path}.${key}`, errors, depth);
      return;
    }
    const alias = this.#aliases.get(name);
    if (alias === undefined) {
      errors.push(`${path}: no generated type named ${name}`);
      return;
    }
    this.#check(alias, value, path, errors, depth);
  }

  #checkKeyword(node: ts.TypeNode, value: unknown, path: string, errors: string[]): void {
    switch (node.kind) {
      case ts.SyntaxKind.StringKeyword:
        if (typeof value !== "string") errors.push(`${path}: expected a string, got ${describe(value)}`);
        return;
      case ts.SyntaxKind.NumberKeyword:
        if (typeof value !== "number" || !Number.isFinite(value)) {
          errors.push(`${path}: expected a number, got ${describe(value)}`);
        } else if (Number.isInteger(value) && !Number.isSafeInteger(value)) {
          errors.push(`${path}: ${value} is past 2^53-1 and cannot be exact`);
        }
        return;
      case ts.SyntaxKind.BooleanKeyword:
        if (typeof value !== "boolean") errors.push(`${path}: expected a boolean, got ${describe(value)}`);
        return;
      case ts.SyntaxKind.NullKeyword:
        if (value !== null) errors.push(`${path}: expected null, got ${describe(value)}`);
        return;
      case ts.SyntaxKind.UnknownKeyword:
        return;
      default:
        errors.push(`${path}: the checker does not know ${node.getText()}`);
    }
  }
}

/** Collects every mismatch seen through a client's `validate` hook. */
export class ShapeLog {
  readonly problems: string[] = [];
  readonly checked = new Map<string, number>();
  readonly #checker: ShapeChecker;

  constructor(checker: ShapeChecker = new ShapeChecker()) {
    this.#checker = checker;
  }

  /** A `validate` hook for `PzoClient`. */
  readonly validate = (typeName: string, value: unknown): void => {
    this.checked.set(typeName, (this.checked.get(typeName) ?? 0) + 1);
    for (const problem of this.#checker.check(typeName, value)) this.problems.push(problem);
  };
}
