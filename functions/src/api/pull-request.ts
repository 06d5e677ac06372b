/** `/v2/pull-request`: submit one of the caller's kv values for merging; list submissions. */
import { z } from "zod";
import { sendList } from "../http/paging.js";
import { defineGroup, route } from "../http/route.js";
import {
  pullRequestBodySchema,
  pullRequestQuery,
  pullRequestsResponseSchema,
} from "../schemas/pull-requests.js";
import { createPullRequest, pullRequestEmails, pullRequestPages } from "../services/pull-requests.js";

export const pullRequestApi = defineGroup({
  name: "pullrequest",
  mounts: ["/v2/pull-request"],
  routes: [
    route({
      method: "post",
      path: "/",
      allow: "signedIn",
      alsoPut: true,
      summary: 'Copy the caller\'s kv value named by `{"pull": "kv/<scope>/<key>"}` into their pull requests',
      body: pullRequestBodySchema,
      response: z.null(),
      async handler({ deps, user, body }) {
        await createPullRequest(deps, user, body.pull);
        return null;
      },
    }),
    route({
      method: "get",
      path: "/",
      allow: "signedIn",
      summary: "Pull requests as {email: {scope: {key: value}}}",
      description:
        "`user_email` empty or absent: the caller's; another email or `all`: admins only. Pageable by email.",
      query: pullRequestQuery,
      response: pullRequestsResponseSchema,
      async handler({ res, deps, user, query }) {
        const emails = await pullRequestEmails(deps, user, query.user_email);
        await sendList(res, {
          shape: "object",
          read: pullRequestPages(deps, emails),
          limit: query.limit,
          cursor: query.cursor,
        });
      },
    }),
  ],
});
