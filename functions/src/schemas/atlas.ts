/** `/v2/atlas` and `/v2/atlas-verify`: titled points shared across datasets, with verification. */
import { z } from "zod";
import { pageQueryShape } from "./common.js";
import { datasetId } from "./common.js";
import { firestoreId } from "./kv.js";
import { firestoreProblem } from "./storable.js";

/** A voxel coordinate as clio's clients send it in `?x=&y=&z=` (integers). */
const coordinate = z
  .string()
  .regex(/^-?\d{1,15}$/, { error: "must be an integer" })
  .transform((v) => Number(v));

export const locationShape = { x: coordinate, y: coordinate, z: coordinate };
export const locationQuery = z.strictObject(locationShape);
export type Location = z.output<typeof locationQuery>;

export const datasetParams = z.object({ dataset: datasetId });
export const listQuery = z.strictObject(pageQueryShape);

/**
 * An atlas point as posted: free-form, but `title` and `user` are required (clio dropped the
 * `description` requirement in 2021). Neuroglancer also sends kind, pos, prop, tags, description.
 */
export const atlasBodySchema = z
  .looseObject({
    title: z.string({ error: "title is required (a string)" }).max(10_000),
    user: z.string({ error: "user is required (the owner's email)" }).min(1).max(254),
    verified: z.boolean({ error: "verified must be true or false" }).optional(),
  })
  .superRefine((value, ctx) => {
    const problem = firestoreProblem(value);
    if (problem) ctx.addIssue({ code: "custom", message: `the atlas point ${problem}` });
  });
export type AtlasBody = z.output<typeof atlasBodySchema>;

/** A stored atlas point as clients receive it. */
export const atlasPointSchema = z.looseObject({
  title: z.string(),
  user: z.string(),
  timestamp: z.number(),
  dataset: z.string(),
  location: z.array(z.number()),
  locationkey: z.string(),
  id: z.string(),
  verified: z.boolean(),
  verified_by: z.string().optional().describe("who last set or cleared verification"),
  verified_at: z.number().optional().describe("when verification was last set or cleared (Unix seconds)"),
});

export type AtlasPoint = z.infer<typeof atlasPointSchema>;
export const atlasByLocationSchema = z.record(z.string(), atlasPointSchema);
export const atlasListSchema = z.array(atlasPointSchema);

export const atlasIdParams = z.object({ id: firestoreId });
