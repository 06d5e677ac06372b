/**
 * neuPrint proxy (POST /v2/neuprint/{dataset}): the Cypher request the Clio website sends and the
 * dataset setting that says which neuPrint server holds the dataset.
 */
import { z } from "zod";

export const neuprintRequestSchema = z.object({
  cypher: z.string().min(1).max(100_000),
  /** neuPrint's dataset name; the website sends "<key>[:<tag>]". */
  dataset: z.string().min(1).max(200),
});
export type NeuprintRequest = z.output<typeof neuprintRequestSchema>;

/** `neuprintHTTP` of a dataset document; `server` is a bare host name, https assumed. */
export const neuprintDatasetSchema = z.looseObject({
  neuprintHTTP: z.looseObject({ server: z.string().min(1), dataset: z.string().optional() }).optional(),
});

/** What neuPrint's /api/custom/custom answers; passed through as received. */
export const neuprintResponseSchema = z.looseObject({
  columns: z.array(z.string()).optional(),
  data: z.array(z.unknown()).optional(),
});
export type NeuprintResponse = z.output<typeof neuprintResponseSchema>;
