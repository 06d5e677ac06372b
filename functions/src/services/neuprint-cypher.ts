/**
 * Binds a caller's Cypher to one neuPrint dataset before the proxy runs it with the deployment's
 * credential (security review H2). neuPrintHTTP runs /api/custom/custom on the dataset's whole
 * main store, where every dataset's nodes live side by side: a node carries the generic label
 * (`Neuron`) and the dataset's own (`hemibrain_Neuron`). So a query is accepted only when
 *
 *  - it is read-only and runs nothing indirect: no CALL, LOAD CSV, USE, no write clause, and no
 *    namespaced function (`apoc.cypher.run(...)` would run a second, unchecked query);
 *  - every label it names (in a node pattern or a `n:Label` predicate) is this dataset's own
 *    (`<dataset>_<Type>` for a neuPrint node type, or the bare `<dataset>` label);
 *  - every node pattern carries such a label, or is joined by relationships to one that does (a
 *    relationship never leaves its dataset), so no `MATCH (n)` scans the whole store.
 *
 * This is a lexical check of a language we do not fully parse, so it fails closed: anything it
 * cannot classify (non-ASCII outside strings, label expressions with `|`/`&`/`!`, `IS` label
 * tests) is refused with a message saying what to write instead.
 */
import { badRequest } from "../errors.js";

/** Node types of the neuPrint data model, each also labelled `<dataset>_<Type>`. */
const NODE_TYPES = [
  "Neuron",
  "Segment",
  "Synapse",
  "SynapseSet",
  "ConnectionSet",
  "Meta",
  "DataModel",
  "Cell",
  "Element",
  "ElementSet",
  "SkelNode",
  "Skeleton",
];

/** Clauses that write, call procedures, read files or switch databases. */
const FORBIDDEN = new Set([
  "CALL",
  "LOAD",
  "USE",
  "CREATE",
  "MERGE",
  "DELETE",
  "DETACH",
  "SET",
  "REMOVE",
  "FOREACH",
  "DROP",
  "GRANT",
  "DENY",
  "REVOKE",
  "ALTER",
  "RENAME",
  "SHOW",
  "TERMINATE",
  "START",
  "STOP",
  "FINISH",
  "INSERT",
]);

/** Words after which `(` opens a pattern or an expression, not a function call. */
const KEYWORDS = new Set([
  "MATCH",
  "OPTIONAL",
  "WHERE",
  "RETURN",
  "WITH",
  "AND",
  "OR",
  "XOR",
  "NOT",
  "IN",
  "AS",
  "UNWIND",
  "ORDER",
  "BY",
  "SKIP",
  "LIMIT",
  "DISTINCT",
  "UNION",
  "ALL",
  "CASE",
  "WHEN",
  "THEN",
  "ELSE",
  "END",
  "EXISTS",
  "ASC",
  "DESC",
  "ASCENDING",
  "DESCENDING",
  "STARTS",
  "ENDS",
  "CONTAINS",
  "IS",
  "NULL",
]);

type Kind = "ident" | "quoted" | "string" | "number" | "param" | "punct";
interface Token {
  kind: Kind;
  text: string;
  /** For identifiers: the name (backticks removed). */
  name: string;
}

const MAX_TOKENS = 20_000;

function tokenize(cypher: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  const n = cypher.length;
  const push = (kind: Kind, text: string, name = text) => {
    tokens.push({ kind, text, name });
    if (tokens.length > MAX_TOKENS) throw badRequest("The Cypher query is too long");
  };
  while (i < n) {
    const c = cypher[i]!;
    if (/\s/.test(c)) {
      i += 1;
    } else if (cypher.startsWith("//", i)) {
      const end = cypher.indexOf("\n", i);
      i = end < 0 ? n : end + 1;
    } else if (cypher.startsWith("/*", i)) {
      const end = cypher.indexOf("*/", i + 2);
      if (end < 0) throw badRequest("The Cypher query has an unterminated comment");
      i = end + 2;
    } else if (c === "'" || c === '"') {
      let j = i + 1;
      while (j < n && cypher[j] !== c) j += cypher[j] === "\\" ? 2 : 1;
      if (j >= n) throw badRequest("The Cypher query has an unterminated string");
      push("string", cypher.slice(i, j + 1));
      i = j + 1;
    } else if (c === "`") {
      let j = i + 1;
      let name = "";
      for (;;) {
        if (j >= n) throw badRequest("The Cypher query has an unterminated `name`");
        if (cypher[j] === "`") {
          if (cypher[j + 1] === "`") {
            name += "`";
            j += 2;
            continue;
          }
          break;
        }
        name += cypher[j];
        j += 1;
      }
      push("quoted", cypher.slice(i, j + 1), name);
      i = j + 1;
    } else if (/[A-Za-z_]/.test(c)) {
      const m = /^[A-Za-z_][A-Za-z0-9_]*/.exec(cypher.slice(i, i + 512))!;
      push("ident", m[0]);
      i += m[0].length;
    } else if (/[0-9]/.test(c)) {
      const m = /^[0-9][0-9A-Za-z_.]*/.exec(cypher.slice(i, i + 512))!;
      push("number", m[0]);
      i += m[0].length;
    } else if (c === "$") {
      const m = /^\$[A-Za-z0-9_]*/.exec(cypher.slice(i, i + 512))!;
      push("param", m[0]);
      i += m[0].length;
    } else if (c.charCodeAt(0) < 128) {
      push("punct", c);
      i += 1;
    } else {
      throw badRequest("The Cypher query has a non-ASCII character outside a string");
    }
  }
  return tokens;
}

const isName = (t: Token | undefined): t is Token => t?.kind === "ident" || t?.kind === "quoted";

interface NodePattern {
  start: number;
  end: number;
  bound: boolean;
}

/**
 * Throws a 400 naming the problem unless `cypher` only reads neuPrint dataset `dataset` (its base
 * name, without `:version`).
 */
export function assertBoundToDataset(cypher: string, dataset: string): void {
  const tokens = tokenize(cypher);
  const own = new Set([dataset, ...NODE_TYPES.map((t) => `${dataset}_${t}`)]);
  const hint = `name labels of this dataset only, e.g. :\`${dataset}_Neuron\``;

  // Clause and function checks.
  for (let k = 0; k < tokens.length; k++) {
    const t = tokens[k]!;
    if (t.kind !== "ident") continue;
    const upper = t.text.toUpperCase();
    const prev = tokens[k - 1];
    const afterDot = prev?.kind === "punct" && prev.text === ".";
    if (!afterDot && FORBIDDEN.has(upper)) {
      throw badRequest(`The neuPrint proxy runs read-only queries: ${upper} is not allowed`);
    }
    if (!afterDot && upper === "IS") {
      const next = tokens[k + 1];
      const ok = next?.kind === "ident" && ["NULL", "NOT"].includes(next.text.toUpperCase());
      if (!ok) throw badRequest(`Only IS NULL / IS NOT NULL are allowed; ${hint}`);
    }
    // a.b( : a namespaced function such as apoc.cypher.run or db.labels.
    const next = tokens[k + 1];
    if (next?.kind === "punct" && next.text === "." && isName(tokens[k + 2])) {
      let j = k + 2;
      while (tokens[j + 1]?.text === "." && isName(tokens[j + 2])) j += 2;
      if (tokens[j + 1]?.text === "(") {
        throw badRequest("The neuPrint proxy does not run namespaced functions or procedures");
      }
    }
  }

  // Labels: a `:` not directly inside a map `{...}` or a relationship `[...]` introduces a label.
  const stack: string[] = [];
  const labelAt = new Set<number>();
  for (let k = 0; k < tokens.length; k++) {
    const t = tokens[k]!;
    if (t.kind !== "punct") continue;
    if (t.text === ";") throw badRequest("The neuPrint proxy runs one statement per request");
    if ("([{".includes(t.text)) stack.push(t.text);
    else if (")]}".includes(t.text)) stack.pop();
    else if (t.text === ":" && stack.at(-1) !== "{" && stack.at(-1) !== "[") {
      const label = tokens[k + 1];
      if (!isName(label)) {
        if (tokens[k + 1]?.text === ":") throw badRequest(`Type predicates are not allowed; ${hint}`);
        continue; // e.g. a list slice list[1:2] at top level is not a label
      }
      if (!own.has(label.name)) {
        throw badRequest(`Label ${label.name} is not a label of neuPrint dataset ${dataset}; ${hint}`);
      }
      const after = tokens[k + 2];
      if (after?.kind === "punct" && "|&!%".includes(after.text)) {
        throw badRequest(`Label expressions with ${after.text} are not allowed; ${hint}`);
      }
      labelAt.add(k);
    }
  }

  // Node patterns: `(` [name] {`:` label} [`{`…`}`] (`)` | WHERE) that is not a function call.
  const patterns: NodePattern[] = [];
  for (let k = 0; k < tokens.length; k++) {
    const t = tokens[k]!;
    if (t.kind !== "punct" || t.text !== "(") continue;
    const prev = tokens[k - 1];
    if (prev?.kind === "ident" && !KEYWORDS.has(prev.text.toUpperCase())) continue; // f(...)
    if (prev?.kind === "quoted") continue;
    let j = k + 1;
    if (isName(tokens[j])) j += 1;
    let bound = false;
    while (tokens[j]?.text === ":" && labelAt.has(j)) {
      bound = true;
      j += 2;
    }
    if (tokens[j]?.text === "{") {
      let depth = 0;
      for (; j < tokens.length; j++) {
        if (tokens[j]!.kind !== "punct") continue;
        if (tokens[j]!.text === "{") depth += 1;
        else if (tokens[j]!.text === "}" && --depth === 0) break;
      }
      j += 1;
    } else if (tokens[j]?.kind === "param") j += 1;
    const close = tokens[j];
    if (!close) continue;
    let end = j;
    if (close.kind === "ident" && close.text.toUpperCase() === "WHERE") {
      let depth = 1;
      for (end = j; end < tokens.length && depth > 0; end++) {
        if (tokens[end]!.text === "(" && tokens[end]!.kind === "punct") depth += 1;
        if (tokens[end]!.text === ")" && tokens[end]!.kind === "punct") depth -= 1;
      }
      end -= 1;
    } else if (!(close.kind === "punct" && close.text === ")")) continue;
    patterns.push({ start: k, end, bound });
  }

  // Chains: node patterns joined only by relationship tokens (- < > and one [...]). A relationship
  // never leaves its dataset, but a variable-length one could wander through a shared node, so an
  // unlabelled node counts as bound only one fixed hop from a labelled one.
  const link = (a: NodePattern, b: NodePattern): "none" | "hop" | "variable" => {
    let sawDash = false;
    let variable = false;
    for (let j = a.end + 1; j < b.start; j++) {
      const t = tokens[j]!;
      if (t.kind !== "punct") return "none";
      if (t.text === "-") sawDash = true;
      else if (t.text === "[") {
        let depth = 0;
        for (; j < b.start; j++) {
          const u = tokens[j]!;
          if (u.kind !== "punct") continue;
          if (u.text === "*") variable = true;
          if (u.text === "[") depth += 1;
          else if (u.text === "]" && --depth === 0) break;
        }
      } else if (t.text !== "<" && t.text !== ">") return "none";
    }
    if (!sawDash) return "none";
    return variable ? "variable" : "hop";
  };
  let chain: NodePattern[] = [];
  let links: string[] = [];
  const settle = () => {
    chain.forEach((p, i) => {
      const near =
        (i > 0 && links[i - 1] === "hop" && chain[i - 1]!.bound) ||
        (i + 1 < chain.length && links[i] === "hop" && chain[i + 1]!.bound);
      if (!p.bound && !near) {
        throw badRequest(
          `Every node pattern must carry a label of neuPrint dataset ${dataset} or be one fixed relationship from one that does; ${hint}`,
        );
      }
    });
    chain = [];
    links = [];
  };
  for (const p of patterns) {
    const last = chain.at(-1);
    const kind = last ? link(last, p) : "none";
    if (last && kind === "none") settle();
    else if (last) links.push(kind);
    chain.push(p);
  }
  settle();
}
