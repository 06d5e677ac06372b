/**
 * Connectomes: WormWideWeb's input files, what neurofire stores in Firestore, and the request and
 * response shapes of `/v2/connectome` (WormWideWeb's names, plus our path-query extensions).
 */
import { z } from "zod";

/** A connectome dataset id (also a Firestore document id): WormWideWeb's ids are snake_case. */
export const connectomeId = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/, {
  error: "dataset ids are 1-128 characters: letters, digits, _ . - (starting with a letter or digit)",
});

/** A neuron or class name as WormWideWeb spells them (`AVAL`, `dBWML1`, `exc_gl`, `g1AL`). */
export const cellName = z.string().min(1).max(64);

// ---- input files (WormWideWeb's initial_data format) -------------------------------------------

/** One record of a nemanode-format connectome file. */
export const connectomeRecordSchema = z.object({
  pre: z.string().min(1),
  post: z.string().min(1),
  typ: z.union([z.literal(0), z.literal(2)]),
  syn: z.array(z.number().int().nonnegative()),
});
export const connectomeFileSchema = z.array(connectomeRecordSchema);

export const datasetEntrySchema = z.object({
  id: connectomeId,
  name: z.string(),
  type: z.string(),
  time: z.number(),
  visualTime: z.number(),
  description: z.string(),
  citation: z.array(z.string()),
  skip_gap_junction: z.boolean().optional(),
  axes: z.array(z.record(z.string(), z.unknown())).optional(),
});
export type DatasetEntry = z.infer<typeof datasetEntrySchema>;

// ---- stored documents ---------------------------------------------------------------------------

/** One row of WormWideWeb's cell table (`connectome_neurons.csv`). */
export const cellSchema = z.object({
  name: z.string(),
  class: z.string(),
  type: z.string(),
  type_code: z.string(),
  category: z.string(),
  dv: z.string(),
  lr: z.string(),
});
export type Cell = z.infer<typeof cellSchema>;

/** `connectome_meta/cells`: the whole cell table in one document (658 rows, ~40 KB). */
export const cellTableDocSchema = z.object({ cells: z.array(cellSchema), sha256: z.string() });
export type CellTableDoc = z.infer<typeof cellTableDocSchema>;

/** `connectome_datasets/{id}`: the dataset list entry and what its ingest produced. */
export const connectomeDatasetDocSchema = datasetEntrySchema.extend({
  /** SHA-256 of the connectome file, checked against the manifest at ingest (as WormWideWeb does). */
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  /** Published connectomes are public; a private one needs can_read on the clio dataset of this id. */
  public: z.boolean(),
  /** Cells with at least one kept synapse, in cell-table order. */
  neurons: z.array(z.string()),
  synapses: z.number().int(),
  /** Hash of every input that shaped this dataset (file, cell table, renames): the ETag source. */
  version: z.string(),
});
export type ConnectomeDatasetDoc = z.infer<typeof connectomeDatasetDocSchema>;

/**
 * `connectome_graphs/{id}`: the imported synapse rows as a gzipped JSON blob
 * `{names: string[], rows: [preIdx, postIdx, 0|1 (c|e), count][]}` — one bounded read per dataset.
 */
export const graphDocSchema = z.object({
  version: z.string(),
  blob: z.instanceof(Uint8Array),
});
export const graphBlobSchema = z.object({
  names: z.array(z.string()),
  rows: z.array(
    z.tuple([z.number().int(), z.number().int(), z.union([z.literal(0), z.literal(1)]), z.number()]),
  ),
});
export type GraphBlob = z.infer<typeof graphBlobSchema>;

// ---- API ------------------------------------------------------------------------------------------

const commaIds = z
  .string({ error: "datasets parameter not found" })
  .min(1, { error: "datasets parameter not found" })
  .max(4096)
  .transform((s) => [...new Set(s.split(",").filter((v) => v.length > 0))])
  .pipe(z.array(connectomeId).min(1, { error: "datasets parameter not found" }).max(32));

export const availableNeuronsQuery = z.object({ datasets: commaIds });
export const neuronInfoSchema = z.object({
  neuron_class: z.string().nullable(),
  name: z.string(),
  cell_type: z.string(),
  cell_type_desc: z.string(),
});
export const availableNeuronsResponse = z.object({
  neurons: z.record(z.string(), neuronInfoSchema),
  neuron_classes: z.record(z.string(), z.array(z.string())),
});
export type AvailableNeurons = z.infer<typeof availableNeuronsResponse>;

const nonEmptyStrings = (field: string) =>
  z
    .array(
      z
        .string()
        .min(1, { error: `Field '${field}' must contain non-empty strings.` })
        .max(64),
    )
    .max(1000);

export const getEdgesBody = z.object(
  {
    datasets: nonEmptyStrings("datasets").pipe(z.array(connectomeId).max(32)),
    neurons: nonEmptyStrings("neurons"),
    classes: nonEmptyStrings("classes"),
    show_individual_neuron: z.boolean({ error: "Field 'show_individual_neuron' must be a boolean." }),
    show_connected_neuron: z.boolean({ error: "Field 'show_connected_neuron' must be a boolean." }),
  },
  { error: "Payload must be a JSON object." },
);
export type GetEdgesBody = z.infer<typeof getEdgesBody>;

export const edgeSchema = z.object({
  pre: z.string(),
  post: z.string(),
  type: z.enum(["c", "e"]),
  count: z.number(),
  list_count: z.array(z.number()),
});
export const getEdgesResponse = z.object({
  datasets: z.array(z.string()),
  neurons: z.array(z.string()),
  synapses: z.array(edgeSchema),
});
export type GetEdgesResponse = z.infer<typeof getEdgesResponse>;

/** WormWideWeb: only the exact string `true` is true (`weighted=1` is false). */
const wwwBool = z
  .string()
  .max(16)
  .optional()
  .transform((v) => v === "true");
const positiveInt = (max: number) => z.coerce.number().int().min(1).max(max);

export const MAX_K = 100;
export const MAX_HOPS_PARAM = 12;

export const findPathsQuery = z
  .object({
    dataset: connectomeId.optional(),
    /** Our extension: the same query over several datasets (e.g. the Witvliet series). */
    datasets: z.string().max(4096).optional(),
    start: cellName.optional(),
    end: cellName.optional(),
    weighted: wwwBool,
    gap_junction: wwwBool,
    class: wwwBool,
    /** Extensions: Yen's k shortest loopless paths, a hop limit, a minimum count per edge, types. */
    k: positiveInt(MAX_K).optional(),
    maxHops: positiveInt(MAX_HOPS_PARAM).optional(),
    minSynapses: positiveInt(100000).optional(),
    synapseType: z.enum(["chemical", "electrical", "both"]).optional(),
    maxPaths: positiveInt(100000).optional(),
  })
  .check((ctx) => {
    const q = ctx.value;
    if (!q.start || !q.end || (!q.dataset && !q.datasets))
      ctx.issues.push({
        code: "custom",
        input: q,
        message: "dataset, start, and end query params are required",
      });
    if (q.k !== undefined && q.maxHops !== undefined)
      ctx.issues.push({
        code: "custom",
        input: q,
        path: ["maxHops"],
        message: "k and maxHops cannot be combined: maxHops applies to all tied shortest paths",
      });
  });
export type FindPathsQuery = z.infer<typeof findPathsQuery>;

export const pathEdgeSchema = z.object({
  pre: z.string(),
  post: z.string(),
  count: z.number(),
  type: z.enum(["c", "e"]),
});
export const pathSchema = z.object({
  path: z.array(z.string()),
  edges: z.array(pathEdgeSchema),
  /** WormWideWeb: the sum of synapse counts along the path (not its cost). */
  total_weight: z.number(),
  /** Extensions. */
  hops: z.number().int(),
  weakest_edge: pathEdgeSchema.nullable(),
  cost: z.number(),
});
export type PathResult = z.infer<typeof pathSchema>;

export const findPathsFound = z.object({
  dataset_id: z.string(),
  start_neuron: z.string(),
  end_neuron: z.string(),
  use_weights: z.boolean(),
  use_gap_junction: z.boolean(),
  nodes: z.array(z.string()),
  paths: z.array(pathSchema),
  truncated: z.boolean(),
});
export const findPathsNone = z.object({
  paths: z.array(pathSchema).length(0),
  message: z.literal("No path found"),
  truncated: z.boolean(),
  dataset_id: z.string().optional(),
});
export const findPathsOne = z.union([findPathsFound, findPathsNone]);
export type FindPathsOne = z.infer<typeof findPathsOne>;
export const findPathsResponse = z.union([findPathsOne, z.object({ results: z.array(findPathsOne) })]);
export type FindPathsResponse = z.infer<typeof findPathsResponse>;
