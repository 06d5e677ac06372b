/**
 * A clio dataset (collection `clio_datasets`, document id = dataset id). clio-store's model
 * dropped unknown fields on POST, losing `transfer`, `roles`, `navHide` and `source` that its
 * clients read; here every field is kept and the known ones are checked.
 */
import { z } from "zod";
import { datasetId } from "./common.js";

const layer = z.looseObject({
  name: z.string().optional(),
  type: z.string().optional(),
  source: z.union([z.string(), z.looseObject({ url: z.string() })]).optional(),
});

export const datasetSchema = z.looseObject({
  title: z.string().max(1000).optional(),
  description: z.string().max(100_000),
  tag: z.string().max(128).optional(),
  uuid: z.string().max(128).optional(),
  dvid: z.string().max(2048).optional(),
  mainLayer: z.string().max(1000).optional(),
  neuroglancer: z.looseObject({ layers: z.array(layer).optional() }).optional(),
  versions: z.array(z.looseObject({})).optional(),
  typing: z.looseObject({}).optional(),
  neuprintHTTP: z.looseObject({ dataset: z.string().optional(), server: z.string() }).optional(),
  bodyAnnotationSchema: z.looseObject({}).optional(),
  orderedLayers: z.array(z.unknown()).optional(),
  public: z.boolean().optional(),
  transfer: z.array(z.string()).optional(),
  roles: z.record(z.string(), z.unknown()).optional(),
  navHide: z.boolean().optional(),
  location: z.string().optional(),
  source: z.string().optional(),
  /** Where the dataset's files live; the bucket defaults to FILES_BUCKET, the prefix to `<id>/`. */
  files: z
    .looseObject({
      bucket: z.string().min(3).max(222).optional(),
      prefix: z.string().max(1024).optional(),
    })
    .optional(),
});
export type Dataset = z.infer<typeof datasetSchema>;

/** What a stored document may hold; old databases have documents without a description. */
export const storedDatasetSchema = datasetSchema.partial({ description: true });
export type StoredDataset = z.infer<typeof storedDatasetSchema>;

export const datasetsPostBodySchema = z
  .record(datasetId, datasetSchema)
  .refine((m) => Object.keys(m).length > 0 && Object.keys(m).length <= 100, {
    error: "send between 1 and 100 datasets",
  });

export const datasetsDeleteBodySchema = z.array(datasetId).min(1).max(100);

export const datasetsResponseSchema = z.record(z.string(), storedDatasetSchema);
