/** Every HTTP API group, for the docs and for tests that serve them all. Add new groups here. */
import type { ApiGroup } from "../http/route.js";
import { datasetsApi } from "./datasets.js";
import { rolesApi } from "./roles.js";
import { serverApi } from "./server.js";
import { usersApi } from "./users.js";

export const apiGroups: ApiGroup[] = [datasetsApi, rolesApi, usersApi, serverApi];
