/**
 * `/v2/transfer`: runs a dataset's image-transfer model around a point and answers with a
 * Neuroglancer link to the output. clio's route never read its body (FastAPI took it for a
 * query parameter) and answered failures with a traceback; here the body is parsed, the role is
 * checked on the dataset, and failures are 400/403/404/502/503/504.
 */
import { hasRole } from "../auth/permissions.js";
import { forbidden } from "../errors.js";
import { provide } from "../services/root.js";
import { defineGroup, route } from "../http/route.js";
import { transferRequestSchema, transferResponseSchema } from "../schemas/transfer.js";
import { identityTokens, storageClient } from "../services/clients.js";
import { createTransferService, storageWriteObject } from "../services/transfer.js";

/** One service per instance, so the identity-token client (and its token cache) is reused. */
const transferService = provide("transfer", (root) => {
  const { config } = root;
  return createTransferService({
    transferUrl: config.transferFunc,
    destBucket: config.transferDest,
    getDataset: (name) => root.datasets.get(name),
    writeObject: storageWriteObject(root.get(storageClient)),
    idTokenFor: root.get(identityTokens),
    timeoutMs: config.transferTimeoutSeconds * 1000,
    retries: config.transferRetries,
    neuroglancerUrl: config.neuroglancerUrl,
  });
});

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
        "`{addr}`, a Neuroglancer link to the output volume.",
      body: transferRequestSchema,
      response: transferResponseSchema,
      async handler({ deps, user, body }) {
        // Eight GPU jobs per call under the deployment's identity (security review M3): the role
        // must be held on the dataset itself; a public dataset's implicit level does not count.
        if (!hasRole(user, deps.config.transferRole, body.dataset, false))
          throw forbidden(
            `${user.email || "anonymous"} lacks ${deps.config.transferRole} on dataset ${body.dataset} (transfer needs an explicit role)`,
          );
        const answer = await deps.get(transferService).transfer(body);
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
