/**
 * Personal annotations: v2 (`clio_annotations_v2/{ds}/{user}/{key}`, typed points, line segments
 * and spheres) and the legacy v1 store (`clio_annotations/USER/annotations/{id}`, free JSON at a
 * location).
 */
import { z } from "zod";
import { datasetId, email, groupName, queryBool } from "./common.js";
import { isFirestoreId, storable } from "./storable.js";

/** A JSON object that Firestore can store as a document or map. */
export const storableObject = storable("the object");

export const annotationKinds = ["point", "lineseg", "sphere"] as const;
export type AnnotationKind = (typeof annotationKinds)[number];

const POS_LENGTH: Record<AnnotationKind, number> = { point: 3, lineseg: 6, sphere: 6 };
const KEY_PREFIX: Record<AnnotationKind, string> = { point: "Pt", lineseg: "Ln", sphere: "Sp" };

/** clio's model took `List[int]`, so fractional coordinates are truncated toward zero. */
const coordinate = z
  .number({ error: "coordinates must be numbers" })
  .refine((n) => Number.isFinite(n) && Math.abs(n) <= Number.MAX_SAFE_INTEGER, {
    error: "coordinates must be finite",
  })
  .transform((n) => Math.trunc(n) + 0);

/**
 * One annotation as clients post it. Unknown fields (Neuroglancer sends `verified`, …) are
 * dropped, as clio's pydantic model did.
 */
export const annotationSchema = z
  .object({
    kind: z.enum(annotationKinds, { error: "kind must be point, lineseg or sphere" }),
    pos: z.array(coordinate).min(1).max(6),
    prop: storableObject.optional(),
    tags: z.array(z.string().max(1024)).max(1000).optional(),
    user: email.optional(),
    title: z.string().max(10_000).optional(),
    description: z.string().max(100_000).optional(),
  })
  .superRefine((a, ctx) => {
    const want = POS_LENGTH[a.kind];
    if (a.pos.length !== want) {
      ctx.addIssue({
        code: "custom",
        path: ["pos"],
        message: `a ${a.kind} needs ${want} numbers in pos, got ${a.pos.length}`,
      });
    }
  });
export type Annotation = z.infer<typeof annotationSchema>;

export const MAX_ANNOTATIONS_PER_POST = 5000;

export const annotationsPostBodySchema = z.union(
  [annotationSchema, z.array(annotationSchema).min(1).max(MAX_ANNOTATIONS_PER_POST)],
  { error: `send one annotation object or a list of 1 to ${MAX_ANNOTATIONS_PER_POST}` },
);

/** The user-scoped document id: `Pt{x}_{y}_{z}`, `Ln{6 numbers}` or `Sp{6 numbers}`. */
export function annotationKey(a: Pick<Annotation, "kind" | "pos">): string {
  return `${KEY_PREFIX[a.kind]}${a.pos.join("_")}`;
}

/** Any Firestore document id (stored data may hold keys we would not generate). */
export const documentKey = z.string().min(1).max(1500).refine(isFirestoreId, {
  error: "not a valid annotation key: no '/', not '.', '..' or '__…__', at most 1500 bytes",
});

/** Keys we generate, for `move_key`. */
export const annotationKeyParam = z
  .string()
  .regex(/^(Pt|Ln|Sp)-?\d+(_-?\d+){2,5}$/, { error: "must be an annotation key such as Pt1_2_3" });

const commaList = (item: z.ZodType<string, string>) =>
  z
    .string()
    .transform((s) => [
      ...new Set(
        s
          .split(",")
          .map((v) => v.trim())
          .filter((v) => v.length > 0),
      ),
    ])
    .pipe(z.array(item).min(1, { error: "name at least one" }).max(100));

export const annotationsParams = z.object({ dataset: datasetId });

export const annotationsGetQuery = z.strictObject({
  groups: commaList(groupName).optional(),
  user: email.optional(),
});

export const annotationsPostQuery = z.strictObject({
  move_key: annotationKeyParam.optional(),
  replace: queryBool.optional(),
  conditional: commaList(z.string().min(1).max(1500)).optional(),
});

export const annotationDeleteParams = z.object({ dataset: datasetId, key: documentKey });
export const annotationDeleteQuery = z.strictObject({ user_email: email.optional() });

/** One annotation as GET returns it. */
export const annotationOutSchema = z.looseObject({
  user: z.string(),
  key: z.string(),
  kind: z.enum(annotationKinds),
  pos: z.array(z.number()),
  prop: z.record(z.string(), z.unknown()).optional(),
  tags: z.array(z.string()).optional(),
  title: z.string().optional(),
  description: z.string().optional(),
});

export const keyResponseSchema = z.object({ key: z.string() });
export const keysResponseSchema = z.object({ keys: z.array(z.string()) });

// ---- v1 ----

/** clio's v1 took `x: int`; a decimal string only, so "" or "1e3" are refused rather than coerced. */
const intParam = z
  .string()
  .regex(/^-?\d{1,15}$/, { error: "must be an integer" })
  .transform((s) => Number(s) + 0);

export const locationQuery = z.strictObject({ x: intParam, y: intParam, z: intParam });

export const v1AnnotationOutSchema = z.looseObject({
  id: z.string(),
  email: z.string(),
  dataset: z.string(),
  location: z.array(z.number()),
  locationkey: z.string(),
  timestamp: z.number(),
});
