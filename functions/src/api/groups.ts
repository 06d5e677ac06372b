/**
 * Every HTTP API group, for the docs, the wiring test and tests that serve them all. Each group
 * is exported from index.ts as a function of the same name and has Hosting rewrites for its
 * mounts in firebase.json (functions/test/foundation/wiring.test.ts checks both).
 */
import type { ApiGroup } from "../http/route.js";
import { annotationsV1Api } from "./annotations-v1.js";
import { annotationsApi } from "./annotations.js";
import { atlasApi, atlasVerifyApi } from "./atlas.js";
import { auditApi } from "./audit.js";
import { catalogAdminApi, catalogApi } from "./catalog.js";
import { activityApi } from "./activity.js";
import { connectomeApi } from "./connectome.js";
import { datasetsApi } from "./datasets.js";
import { filesApi } from "./files.js";
import { jobsApi } from "./jobs.js";
import { jsonAnnotationsApi } from "./json-annotations.js";
import { keysApi } from "./keys.js";
import { kvApi } from "./kv.js";
import { neuprintApi } from "./neuprint.js";
import { pullRequestApi } from "./pull-request.js";
import { rolesApi } from "./roles.js";
import { savedSearchesApi } from "./savedsearches.js";
import { serverApi } from "./server.js";
import { signaturesApi } from "./signatures.js";
import { siteReportsApi } from "./site-reports.js";
import { transferApi } from "./transfer.js";
import { usersApi } from "./users.js";

export const apiGroups: ApiGroup[] = [
  datasetsApi,
  rolesApi,
  usersApi,
  serverApi,
  annotationsApi,
  annotationsV1Api,
  atlasApi,
  atlasVerifyApi,
  savedSearchesApi,
  kvApi,
  pullRequestApi,
  siteReportsApi,
  signaturesApi,
  transferApi,
  neuprintApi,
  filesApi,
  catalogApi,
  catalogAdminApi,
  jsonAnnotationsApi,
  connectomeApi,
  activityApi,
  keysApi,
  auditApi,
  jobsApi,
];
