/** `/v2/site-reports`: what the website reports when pointed at a non-standard store. */
import { z } from "zod";
import { pageQueryShape } from "./common.js";
import { storable } from "./storable.js";

/** The website sends `{projectUrl, defaultProd, defaultTest, user}`; anything object-shaped is kept. */
export const siteReportBodySchema = storable("the report");

export const siteReportsQuery = z.strictObject(pageQueryShape);

/** `{"{email}-{YYYY-MM-DD}": report}`. */
export const siteReportsResponseSchema = z.record(z.string(), z.record(z.string(), z.unknown()));
