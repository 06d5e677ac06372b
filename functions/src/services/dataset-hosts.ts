/**
 * Security review M4: the Clio website and Neuroglancer may send a viewer's FlyEM token to a
 * dataset's DVID and layer-source hosts, so a dataset admin who could point `dvid` or a layer
 * `source` at their own server would collect the tokens of everyone who opens the dataset,
 * global admins included. Dataset admins may therefore only add hosts on the deployment's
 * allow-list (DATASET_SOURCE_HOSTS); hosts the dataset already names stay usable, and global
 * admins may name any.
 */

/** `http(s)://` URLs anywhere in a string, also nested as in `dvid://https://host/…`. */
const HTTP_URL = /https?:\/\/[^\s"'<>\\]*/gi;

/** The hosts of every http(s) URL in `value` (keys and strings, at any depth), lower-cased. */
export function urlHosts(value: unknown, out = new Set<string>()): Set<string> {
  const stack: unknown[] = [value];
  while (stack.length > 0) {
    const v = stack.pop();
    if (typeof v === "string") addHosts(v, out);
    else if (Array.isArray(v)) for (const e of v as unknown[]) stack.push(e);
    else if (v !== null && typeof v === "object")
      for (const [k, e] of Object.entries(v)) {
        addHosts(k, out);
        stack.push(e);
      }
  }
  return out;
}

function addHosts(s: string, out: Set<string>): void {
  for (const match of s.matchAll(HTTP_URL)) {
    // A URL that does not parse cannot be checked: it counts as a host of its own, so only a
    // global admin can add it.
    out.add(URL.canParse(match[0]) ? new URL(match[0]).host.toLowerCase() : match[0]);
  }
}

/** The `dvid` field may be a bare `host[:port]`; clients then talk to that host. */
export function dvidHost(dvid: unknown): string | undefined {
  if (typeof dvid !== "string" || dvid.includes("://") || dvid === "") return undefined;
  return dvid.split("/")[0]!.toLowerCase();
}

/** Whether `host` is on the allow-list: an exact entry, or a subdomain of a `.domain` entry. */
export function hostAllowed(host: string, allowed: readonly string[]): boolean {
  const bare = host.replace(/:\d+$/, "");
  return allowed.some((a) =>
    a.startsWith(".") ? bare.endsWith(a) || host.endsWith(a) : a === host || a === bare,
  );
}
