/**
 * `/v2/transfer`: runs a dataset's image-transfer model around a point and answers with a
 * Neuroglancer link to the output. clio's route never read its body (FastAPI took it for a
 * query parameter) and answered failures with a traceback; here the body is parsed, the role is
 * checked on the dataset, and failures are 400/403/404/502/503/504.
 */
import { hasRole } from "../auth/permissions.js";
import { forbidden } from "../errors.js";
import { z } from "zod";
import { defineGroup, route } from "../http/route.js";
import { queryBool } from "../schemas/common.js";
import { jobAcceptedSchema } from "../schemas/jobs.js";
import { transferRequestSchema, transferResponseSchema } from "../schemas/transfer.js";
import { transferService } from "../services/transfer.js";
import { acceptJob } from "./jobs.js";

export const transferApi = defineGroup({
  name: "transfer",
  mounts: ["/v2/transfer"],
  routes: [
    route({
      method: "post",
      path: "/",
      allow: { role: (config) => config.transferRole, dataset: "dataset", from: "body" },
      summary: "Run an image-transfer model over the 256³ voxels around a point",
      description:
        "Body `{dataset, model_name, center: [x, y, z]}`; the model must be listed in the dataset's " +
        "`transfer` field. Needs TRANSFER_ROLE (default clio_general) on the dataset. Writes the " +
        "output's precomputed `info`, asks the transfer service for the eight 128³ blocks and answers " +
        "`{addr}`, a Neuroglancer link to the output volume. With `?async=true` it answers 202 " +
        "`{job, location}` once the request is checked, and the transfer runs as a job (GET " +
        "/v2/jobs/{id}; its result is `{addr}`); the Clio website uses the synchronous form.",
      query: z.strictObject({ async: queryBool.optional() }),
      body: transferRequestSchema,
      response: z.union([transferResponseSchema, jobAcceptedSchema]),
      async handler(ctx) {
        const { deps, user, body, query } = ctx;
        // Eight GPU jobs per call under the deployment's identity (security review M3): the role
        // must be held on the dataset itself; a public dataset's implicit level does not count.
        if (!hasRole(user, deps.config.transferRole, body.dataset, false))
          throw forbidden(
            `${user.email || "anonymous"} lacks ${deps.config.transferRole} on dataset ${body.dataset} (transfer needs an explicit role)`,
          );
        const service = deps.get(transferService);
        if (query.async) {
          await service.check(body);
          const accepted = await acceptJob(ctx, { kind: "transfer", dataset: body.dataset, input: body });
          deps.log.info("image transfer job queued", { job: accepted.job.id, dataset: body.dataset });
          return accepted;
        }
        const answer = await service.transfer(body);
        deps.log.info("image transfer started", {
          dataset: body.dataset,
          model: body.model_name,
          by: user.email,
        });
        return answer;
      },
    }),
  ],
});
