/**
 * Image transfer (POST /v2/transfer): the request the Clio website sends, the job each block
 * sends to the transfer service, and the Neuroglancer precomputed `info` of the output volume.
 */
import { z } from "zod";

const voxel = z
  .number()
  .int()
  .min(-(2 ** 31))
  .max(2 ** 32 - 1);

export const transferRequestSchema = z.object({
  dataset: z.string().min(1).max(200),
  model_name: z.string().min(1).max(200),
  center: z.tuple([voxel, voxel, voxel]),
});
export type TransferRequest = z.output<typeof transferRequestSchema>;

export const transferResponseSchema = z.object({
  /** A Neuroglancer link showing the output volume. */
  addr: z.url(),
});
export type TransferResponse = z.output<typeof transferResponseSchema>;

/** What the transfer service receives for one block, as clio's old Cloud Function sent it. */
export const transferJobSchema = z.object({
  /** The dataset's grayscale source (its `location`). */
  location: z.string(),
  /** Global corner of the whole output volume (centre - 128). */
  glbstart: z.tuple([z.number().int(), z.number().int(), z.number().int()]),
  /** Corner of this block; a multiple of 128 from glbstart. */
  start: z.tuple([z.number().int(), z.number().int(), z.number().int()]),
  size: z.tuple([z.number().int(), z.number().int(), z.number().int()]),
  model_name: z.string(),
  /** `bucket/dir/scale-key` the service writes chunks to. */
  dest: z.string(),
});
export type TransferJob = z.output<typeof transferJobSchema>;

/** The fields of a dataset document that transfer reads (written straight to Firestore in clio). */
export const transferDatasetSchema = z.looseObject({
  transfer: z.array(z.string()).optional(),
  location: z.string().optional(),
  source: z.string().optional(),
});
export type TransferDataset = z.output<typeof transferDatasetSchema>;
