/**
 * Saved image searches, one per (user, dataset, location), where clio-store kept them
 * (`clio_savedsearches/USER/searches`). clio-store meant to overwrite but always added a document;
 * here a post upserts in a transaction (see `upsertLocated`), so duplicates never appear and the
 * ones clio left are removed on the next post at that location.
 */
import type { DocumentData } from "firebase-admin/firestore";
import type { Root } from "./root.js";
import { firestorePages, type PageReader } from "../store/pages.js";
import type { Location } from "../schemas/atlas.js";
import type { User } from "../schemas/users.js";
import { deleteLocated, locationKey, upsertLocated } from "./atlas.js";
import { nowSeconds } from "./kv.js";
import { overCap } from "../store/caps.js";
import { capCounts } from "./annotations.js";

/** What this service needs of the composition root. */
type Needs = Pick<Root, "config" | "datasets" | "db" | "get" | "now">;

export const SAVEDSEARCHES_PATH = "clio_savedsearches/USER/searches";

const searches = (deps: Needs) => deps.db.collection(SAVEDSEARCHES_PATH);

export function savedSearchPages(deps: Needs, user: User, dataset: string): PageReader {
  const query = searches(deps).where("email", "==", user.email).where("dataset", "==", dataset);
  return firestorePages(query, (id, data) => ({ key: String(data.locationkey), value: { ...data, id } }));
}

export async function saveSearch(
  deps: Needs,
  user: User,
  dataset: string,
  loc: Location,
  body: DocumentData,
): Promise<void> {
  const locationkey = locationKey(loc);
  const timestamp = nowSeconds(deps);
  await upsertLocated(deps, {
    collection: searches(deps),
    ownerField: "email",
    owner: user.email,
    dataset,
    locationkey,
    cap: {
      max: deps.config.userStorageCaps.savedsearches,
      key: `savedsearches ${dataset} ${user.email}`,
      counts: deps.get(capCounts),
      nowMs: deps.now().getTime(),
      refuse: () => overCap("savedsearches", deps.config.userStorageCaps.savedsearches, dataset, user.email),
    },
    build: () => ({
      ...body,
      timestamp,
      dataset,
      location: [loc.x, loc.y, loc.z],
      locationkey,
      email: user.email,
    }),
  });
}

export async function deleteSearch(deps: Needs, user: User, dataset: string, loc: Location): Promise<void> {
  await deleteLocated(deps, searches(deps), "email", user.email, dataset, locationKey(loc));
}
