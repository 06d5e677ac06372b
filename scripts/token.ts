/**
 * `npm run token -- <email>`: prints an API token for a local user as its last line, signed with
 * the checkout's local key, exactly as `POST /v2/server/token` would issue it.
 */
import { z } from "zod";
import { signApiToken } from "../functions/src/auth/tokens.js";
import { configSchema } from "../functions/src/config.js";
import { ensureLocalSecret, PORTS, PROJECT_ID } from "./lib/local-env.js";

/** The user's token generation in the running emulator (0 when it is not running). */
async function currentGeneration(email: string): Promise<number> {
  const url = `http://127.0.0.1:${PORTS.firestore}/v1/projects/${PROJECT_ID}/databases/(default)/documents/neurofire_token_state/${encodeURIComponent(email)}`;
  try {
    const res = await fetch(url, {
      headers: { authorization: "Bearer owner" },
      signal: AbortSignal.timeout(2000),
    });
    if (!res.ok) return 0;
    const doc = (await res.json()) as { fields?: { generation?: { integerValue?: string } } };
    return Number(doc.fields?.generation?.integerValue ?? 0);
  } catch {
    return 0;
  }
}

const email = z.email().safeParse(process.argv[2]?.toLowerCase());
if (!email.success) {
  console.error("usage: npm run token -- <email>   (e.g. admin@example.org)");
  process.exit(2);
}
const config = configSchema.parse({ projectId: PROJECT_ID, tokenSecret: ensureLocalSecret() });
const token = await signApiToken(
  config,
  email.data,
  { email_verified: true },
  await currentGeneration(email.data),
  Date.now(),
);
console.error(`API token for ${email.data}, valid ${config.tokenLifetimeSeconds / 86400} days. Use it as:`);
console.error(`  curl -H "Authorization: Bearer <token>" http://127.0.0.1:${PORTS.hosting}/v2/datasets`);
console.log(token);
