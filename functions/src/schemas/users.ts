/** The clio user record (collection `clio_users`, document id = email) and its API shapes. */
import { z } from "zod";
import { email, groupName, roleName } from "./common.js";

const roleList = z.array(roleName).max(64);

/** A stored user document as clio-store wrote it; unknown fields are kept. */
export const userDocSchema = z.looseObject({
  global_roles: z.array(z.string()).optional(),
  /** The v1 name of global_roles, still present in old databases. */
  clio_global: z.array(z.string()).optional(),
  datasets: z.record(z.string(), z.array(z.string())).optional(),
  groups: z.array(z.string()).optional(),
  name: z.string().optional(),
  org: z.string().optional(),
  disabled: z.boolean().optional(),
});
export type UserDoc = z.infer<typeof userDocSchema>;

/** The user object endpoints see and `GET /v2/roles` returns (clio's shape). */
export const userSchema = z.object({
  email: z.string(),
  name: z.string().nullable(),
  org: z.string().nullable(),
  disabled: z.boolean(),
  global_roles: z.array(z.string()),
  datasets: z.record(z.string(), z.array(z.string())),
  groups: z.array(z.string()),
});
export type User = z.infer<typeof userSchema>;

export const rolesResponseSchema = userSchema.extend({
  google_idinfo: z.record(z.string(), z.unknown()).nullable(),
});

/** One entry of `POST /v2/users`: roles always, the other fields only when sent. */
export const userUpdateSchema = z
  .strictObject({
    global_roles: roleList.optional(),
    datasets: z.record(z.string().min(1).max(128), roleList).optional(),
    groups: z.array(groupName).max(256).optional(),
    name: z.string().max(256).optional(),
    org: z.string().max(256).optional(),
    disabled: z.boolean().optional(),
    // The website's "new user" form repeats the key as `email`; accepted and ignored.
    email: z.unknown().optional(),
  })
  .transform(({ email: _ignored, ...update }) => update);

export const usersUpdateBodySchema = z
  .record(email, userUpdateSchema)
  .refine((m) => Object.keys(m).length > 0 && Object.keys(m).length <= 400, {
    error: "send between 1 and 400 users",
  });

export const usersDeleteBodySchema = z.array(email).min(1).max(400);
