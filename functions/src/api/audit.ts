/**
 * `/v2/audit` (admins: the whole trail, paged) and `GET /v2/datasets/{id}/changes` (a dataset's
 * admins: its change feed). The feed route is served by the datasets group, whose mount it lives
 * under, and is exported here for it.
 */
import { z } from "zod";
import { decodeCursor, encodeCursor, sendList } from "../http/paging.js";
import { defineGroup, route } from "../http/route.js";
import { datasetId, pageQueryShape } from "../schemas/common.js";
import { changesSince, trailPages } from "../services/audit.js";
import { AuditStore, auditEntrySchema, feedEntrySchema } from "../store/audit.js";
import { invalidCursor } from "../store/pages.js";

export const auditApi = defineGroup({
  name: "audit",
  mounts: ["/v2/audit"],
  routes: [
    route({
      method: "get",
      path: "/",
      allow: "admin",
      summary: "The audit trail of every mutation, oldest first (admins; pageable)",
      query: z.object(pageQueryShape),
      response: z.array(auditEntrySchema.extend({ id: z.string() })),
      async handler({ res, deps, query }) {
        const read = trailPages({ audit: new AuditStore(deps.db) });
        await sendList(res, { shape: "array", read, limit: query.limit ?? 100, cursor: query.cursor });
      },
    }),
  ],
});

const FEED_PAGE = 100;

export const datasetChangesRoute = route({
  method: "get",
  path: "/:dataset/changes",
  allow: { permission: "is_dataset_admin", dataset: "dataset" },
  summary: "The dataset's change feed after `since` (dataset admins)",
  description:
    "Answers `{changes, cursor}`; pass `cursor` back as `since` for the next page. Entries are numbered per " +
    "dataset and committed in order, so following cursors never skips or repeats one. An empty page keeps the cursor.",
  params: z.object({ dataset: datasetId }),
  query: z.object({
    since: z.string().max(256).optional(),
    limit: z.coerce.number().int().min(1).max(1000).optional(),
  }),
  response: z.object({ changes: z.array(feedEntrySchema), cursor: z.string() }),
  async handler({ deps, params, query }) {
    let since = 0;
    if (query.since !== undefined) {
      const position = decodeCursor(query.since);
      if (!/^\d{1,12}$/.test(position)) throw invalidCursor();
      since = Number(position);
    }
    const page = await changesSince(
      { audit: new AuditStore(deps.db) },
      params.dataset,
      since,
      query.limit ?? FEED_PAGE,
    );
    return { changes: page.changes, cursor: encodeCursor(String(page.next)) };
  },
});
