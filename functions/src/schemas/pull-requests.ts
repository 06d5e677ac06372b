/** `/v2/pull-request`: requests to merge a kv value, kept for later processing. */
import { z } from "zod";
import { email, pageQueryShape } from "./common.js";

export const pullRequestBodySchema = z.strictObject({
  pull: z
    .string({ error: 'pull is required: "kv/<scope>/<key>"' })
    .regex(/^kv\/[^/]+\/[^/]+$/, { error: 'only "kv/<scope>/<key>" can be pulled' }),
});

/** `user_email`: empty for the caller, another email (admins), or `all` (admins). */
export const pullRequestQuery = z.strictObject({
  user_email: z
    .union([z.literal(""), z.literal("all"), email], {
      error: "user_email is empty, all, or an email address",
    })
    .optional(),
  ...pageQueryShape,
});

/** `{email: {scope: {key: value}}}`. */
export const pullRequestsResponseSchema = z.record(
  z.string(),
  z.record(z.string(), z.record(z.string(), z.record(z.string(), z.unknown()))),
);
