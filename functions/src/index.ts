/**
 * Wiring only: global options and one HTTPS function per API group. Hosting rewrites in
 * firebase.json put them all behind one origin with clio-store's paths.
 */
import { setGlobalOptions } from "firebase-functions";
import { apiGroups } from "./api/groups.js";
import { datasetsApi } from "./api/datasets.js";
import { docsApi } from "./api/docs.js";
import { rolesApi } from "./api/roles.js";
import { serverApi } from "./api/server.js";
import { usersApi } from "./api/users.js";
import { httpFunction } from "./http/function.js";

// A cost cap for every function; raise per function only with a reason.
setGlobalOptions({ region: "us-central1", maxInstances: 20, memory: "512MiB", timeoutSeconds: 120 });

export const datasets = httpFunction(datasetsApi);
export const roles = httpFunction(rolesApi);
export const users = httpFunction(usersApi);
export const server = httpFunction(serverApi);
export const docs = httpFunction(docsApi(() => apiGroups));
