/** `/v2/savedsearches`: one saved image search per user, dataset and location. */
import { z } from "zod";

export const savedSearchBodySchema = z.record(z.string(), z.unknown(), {
  error: "the saved search must be a JSON object",
});

export const savedSearchSchema = z.looseObject({
  timestamp: z.number(),
  dataset: z.string(),
  location: z.array(z.number()),
  locationkey: z.string(),
  email: z.string(),
  id: z.string(),
});

export const savedSearchesByLocationSchema = z.record(z.string(), savedSearchSchema);
