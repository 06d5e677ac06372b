/** `/v2/site-reports`: one report per user per day; admins list them. */
import { z } from "zod";
import { sendList } from "../http/paging.js";
import { defineGroup, route } from "../http/route.js";
import {
  siteReportBodySchema,
  siteReportsQuery,
  siteReportsResponseSchema,
} from "../schemas/site-reports.js";
import { siteReportPages, writeSiteReport } from "../services/site-reports.js";

export const siteReportsApi = defineGroup({
  name: "sitereports",
  mounts: ["/v2/site-reports"],
  routes: [
    route({
      method: "post",
      path: "/",
      allow: "signedIn",
      alsoPut: true,
      summary: "Store the caller's report for today (UTC), replacing an earlier one of the same day",
      body: siteReportBodySchema,
      response: z.null(),
      async handler(ctx) {
        const { deps, user, body } = ctx;
        await writeSiteReport(deps, user, body);
        return null;
      },
    }),
    route({
      method: "get",
      path: "/",
      allow: "admin",
      summary: "Every report, keyed {email}-{YYYY-MM-DD}",
      query: siteReportsQuery,
      response: siteReportsResponseSchema,
      async handler(ctx) {
        const { res, deps, query } = ctx;
        await sendList(res, {
          shape: "object",
          read: siteReportPages(deps),
          limit: query.limit,
          cursor: query.cursor,
        });
      },
    }),
  ],
});
