/** `/v2/savedsearches`: one saved image search per user, dataset and location. */
import { z } from "zod";
import { storable } from "./storable.js";

export const savedSearchBodySchema = storable("the saved search");

export const savedSearchSchema = z.looseObject({
  timestamp: z.number(),
  dataset: z.string(),
  location: z.array(z.number()),
  locationkey: z.string(),
  email: z.string(),
  id: z.string(),
});

export const savedSearchesByLocationSchema = z.record(z.string(), savedSearchSchema);
