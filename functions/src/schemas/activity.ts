/**
 * Whole-brain activity: WormWideWeb's dataset JSON (the normalised shape of WormWideWebData.jl and
 * the legacy one), what neurofire stores, and `/v2/activity` responses in WormWideWeb's shapes.
 */
import { z } from "zod";

const floats = z.array(z.number());
const labelSchema = z.object({
  label: z.string(),
  neuron_class: z.string(),
  LR: z.string().optional(),
  DV: z.string().optional(),
});
const encodingShape = {
  neuron_categorization: z.unknown().optional(),
  encoding_changing_neurons: z.unknown().optional(),
  rel_enc_str_v: z.unknown().optional(),
  rel_enc_str_θh: z.unknown().optional(),
  rel_enc_str_P: z.unknown().optional(),
  forwardness: z.unknown().optional(),
  dorsalness: z.unknown().optional(),
  feedingness: z.unknown().optional(),
  tau_vals: z.unknown().optional(),
};
export const ENCODING_KEYS = Object.keys(encodingShape);

export const normalizedDatasetSchema = z.object({
  metadata: z.object({
    paper_id: z.string(),
    uid: z.string(),
    dataset_type: z.array(z.string()),
    n_neuron: z.number().int().nonnegative(),
  }),
  encoding: z.object(encodingShape).optional(),
  label: z.record(z.string(), labelSchema).optional(),
  timing: z.object({
    mean_timestep: z.number(),
    timestamp_confocal: floats.optional(),
    max_t: z.number().int(),
    event: z.unknown().optional(),
  }),
  behavior: z.object({
    angular_velocity: floats,
    head_angle: floats,
    velocity: floats,
    pumping: floats.optional(),
    reversal_events: z.array(z.array(z.number())),
  }),
  gcamp: z.object({ trace_array: z.array(floats) }),
});

export const legacyDatasetSchema = z.object({
  uid: z.string(),
  max_t: z.number().int(),
  num_neurons: z.number().int().nonnegative(),
  avg_timestep: z.number(),
  trace_array: z.array(floats),
  velocity: floats,
  head_curvature: floats,
  angular_velocity: floats,
  pumping: floats.optional(),
  reversal_events: z.array(z.array(z.number())),
  events: z.unknown().optional(),
  dataset_type: z.array(z.string()),
  labeled: z.record(z.string(), labelSchema).optional(),
  ...encodingShape,
});

export const paperSchema = z.object({
  paper_id: z.string(),
  title_full: z.string(),
  title_short: z.string(),
  neuropal_label: z.boolean(),
  encoding_data: z.boolean(),
  repository: z.unknown().optional(),
});
export const datasetTypesSchema = z.record(z.string(), z.array(z.record(z.string(), z.unknown())));

/** `activity_datasets/{uid}`: metadata only; traces, behaviour and encoding live in Cloud Storage. */
export const activityDatasetDocSchema = z.object({
  dataset_id: z.string(),
  paper_id: z.string(),
  dataset_type: z.array(z.string()),
  n_neuron: z.number().int(),
  n_labeled: z.number().int(),
  max_t: z.number().int(),
  avg_timestep: z.number(),
  /** 1-based neuron index → label. */
  labels: z.record(
    z.string(),
    z.object({ label: z.string(), neuron_class: z.string(), lr: z.string(), dv: z.string() }),
  ),
  has_encoding: z.boolean(),
  public: z.boolean(),
  /** sha256 of the source file: the ETag, and the Cloud Storage prefix of this version's objects. */
  version: z.string().regex(/^[0-9a-f]{64}$/),
});
export type ActivityDatasetDoc = z.infer<typeof activityDatasetDocSchema>;

export const activityMetaSchema = z.object({
  papers: z.array(paperSchema),
  dataset_types: datasetTypesSchema,
});

// ---- API ------------------------------------------------------------------------------------------

export const activityDatasetParams = z.object({
  dataset: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/, { error: "invalid dataset id" }),
});
export const traceParams = activityDatasetParams.extend({
  idx: z.coerce.number({ error: "idx must be a neuron index" }).int().min(1).max(100_000),
});
export const traceResponse = z.object({
  trace: floats,
  idx_neuron: z.number().int(),
  dataset_id: z.string(),
});
export const datasetsResponse = z.array(
  z.object({
    dataset_id: z.string(),
    dataset_type: z.array(z.string()),
    n_neuron: z.number().int(),
    n_labeled: z.number().int(),
    max_t: z.number().int(),
    avg_timestep: z.number(),
  }),
);
export const behaviorResponse = z.object({
  data: z.object({
    behavior: z.object({ traces: z.record(z.string(), z.unknown()), reversal_events: z.unknown() }),
    events: z.unknown(),
  }),
  dataset_id: z.string(),
  avg_timestep: z.number(),
  max_t: z.number().int(),
});
export const encodingResponse = z.record(z.string(), z.unknown());
export const atanasKimResponse = z.record(z.string(), z.unknown());
export const findNeuronResponse = z.object({
  class: z.record(z.string(), z.array(z.array(z.string()))),
  match: z.record(z.string(), z.record(z.string(), z.array(z.number().int()))),
  neuropal_datasets_data: z.array(z.record(z.string(), z.unknown())),
  papers: z.array(paperSchema),
  neuropal_dataset_type: z.record(z.string(), z.unknown()),
});
