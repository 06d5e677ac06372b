/**
 * Datasets: listing and reading with clio's `{tag}`/`{uuid}` templating, creating and updating
 * with a version guard, deleting.
 */
import { badRequest, conflict, forbidden, notFound } from "../errors.js";
import { assertFitsDocument } from "../store/document-size.js";
import type { Root } from "./root.js";
import { ADMIN_ONLY_DATASET_FIELDS, allows } from "../auth/permissions.js";
import { storedDatasetSchema, type Dataset, type StoredDataset } from "../schemas/datasets.js";
import type { User } from "../schemas/users.js";
import { DATASETS, readStoredDataset } from "../store/datasets.js";
import { recordTagMove } from "./json-annotations/versions.js";
import { dvidHost, hostAllowed, urlHosts } from "./dataset-hosts.js";

/** What this service needs of the composition root. */
type Needs = Pick<Root, "datasets" | "db">;
type WriteNeeds = Needs & Pick<Root, "config">;

function sameValue(a: unknown, b: unknown): boolean {
  return JSON.stringify(a ?? null) === JSON.stringify(b ?? null);
}

const collator = new Intl.Collator("en", { numeric: true, sensitivity: "base" });

/** Compares version tags as versions: v0.10 is newer than v0.9 (clio compared strings). */
export function compareVersions(a: string, b: string): number {
  return collator.compare(a, b);
}

/** Replaces `{tag}` and `{uuid}` in every key and string value with the dataset's own. */
export function applyTemplates(value: unknown, tag: string | undefined, uuid: string | undefined): unknown {
  const fill = (s: string) => {
    let out = s;
    if (tag !== undefined) out = out.replaceAll("{tag}", tag);
    if (uuid !== undefined) out = out.replaceAll("{uuid}", uuid);
    return out;
  };
  if (typeof value === "string") return fill(value);
  if (Array.isArray(value)) return value.map((v) => applyTemplates(v, tag, uuid));
  if (value !== null && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [fill(k), applyTemplates(v, tag, uuid)]));
  }
  return value;
}

function present(dataset: StoredDataset, templates: boolean): StoredDataset {
  return templates ? dataset : storedDatasetSchema.parse(applyTemplates(dataset, dataset.tag, dataset.uuid));
}

/** The datasets `user` can read, by id, as clients see them. */
export async function readableDatasets(
  deps: Needs,
  user: User,
  templates: boolean,
): Promise<{ key: string; value: StoredDataset }[]> {
  const all = await deps.datasets.all();
  const out: { key: string; value: StoredDataset }[] = [];
  for (const [id, dataset] of all) {
    if (allows(user, "can_read", id, dataset.public === true))
      out.push({ key: id, value: present(dataset, templates) });
  }
  return out;
}

export async function readDataset(
  deps: Needs,
  user: User,
  id: string,
  templates: boolean,
): Promise<StoredDataset> {
  const dataset = await deps.datasets.get(id);
  // One answer for "missing" and "not yours" (security review L6): a 403 would tell a stranger
  // that a private dataset of that name exists.
  if (!dataset || !allows(user, "can_read", id, dataset.public === true))
    throw notFound(`Dataset ${id} not found`);
  return present(dataset, templates);
}

/** What `{tag}` and `{uuid}` may be filled with: nothing that changes a path's meaning (L7). */
const TEMPLATE_VALUE = /^[A-Za-z0-9._-]{0,128}$/;

/**
 * The admin-only fields a dataset admin's post would change, compared both as stored and as
 * clients see them after `{tag}`/`{uuid}` are filled in (security review L7): otherwise editing
 * `tag` would move a templated `location` without touching the field itself.
 */
function changedAdminFields(stored: StoredDataset | undefined, posted: Dataset): string[] {
  const seen = (d: StoredDataset | Dataset | undefined, f: (typeof ADMIN_ONLY_DATASET_FIELDS)[number]) =>
    applyTemplates(d?.[f], d?.tag, d?.uuid);
  return ADMIN_ONLY_DATASET_FIELDS.filter(
    (f) => !sameValue(stored?.[f], posted[f]) || !sameValue(seen(stored, f), seen(posted, f)),
  );
}

/** Hosts the posted dataset names (as stored and as clients see it) that the stored one does not. */
function addedHosts(stored: StoredDataset | undefined, posted: Dataset): string[] {
  const hosts = (d: StoredDataset | Dataset | undefined) => {
    const out = urlHosts(d);
    urlHosts(applyTemplates(d, d?.tag, d?.uuid), out);
    const bare = dvidHost(d?.dvid);
    if (bare !== undefined) out.add(bare);
    return out;
  };
  const before = hosts(stored);
  return [...hosts(posted)].filter((h) => !before.has(h)).sort();
}

function checkTemplateValues(id: string, stored: StoredDataset | undefined, posted: Dataset): void {
  for (const field of ["tag", "uuid"] as const) {
    const value = posted[field];
    if (value !== undefined && value !== stored?.[field] && !TEMPLATE_VALUE.test(value)) {
      throw badRequest(`Dataset ${id}: ${field} may hold only letters, digits, ".", "_" and "-"`);
    }
  }
}

/**
 * Creates or replaces datasets. Global admins may write any; a dataset admin only datasets that
 * exist and that they administer. A posted tag older than the stored one is refused, and every
 * document is written in one transaction, so a refused item leaves all of them unchanged.
 */
export async function writeDatasets(
  deps: WriteNeeds,
  user: User,
  datasets: Record<string, Dataset>,
): Promise<void> {
  const collection = deps.db.collection(DATASETS);
  const ids = Object.keys(datasets);
  for (const id of ids) assertFitsDocument(collection.doc(id), datasets[id]!, `Dataset ${id}`);
  await deps.db.runTransaction(async (tx) => {
    const snaps = await tx.getAll(...ids.map((id) => collection.doc(id)));
    snaps.forEach((snap, i) => {
      const id = ids[i]!;
      const data = snap.data();
      const stored = data === undefined ? undefined : readStoredDataset(data);
      if (!allows(user, "is_admin")) {
        if (!snap.exists) throw forbidden(`Only admins can create datasets (${id} does not exist)`);
        if (!allows(user, "is_dataset_admin", id, stored?.public === true))
          throw forbidden(`${user.email} is not an admin of dataset ${id}`);
        const changed = changedAdminFields(stored, datasets[id]!);
        if (changed.length > 0)
          throw forbidden(`Only admins can change ${changed.join(", ")} of dataset ${id}`);
        const added = addedHosts(stored, datasets[id]!).filter(
          (h) => !hostAllowed(h, deps.config.datasetSourceHosts),
        );
        if (added.length > 0)
          throw forbidden(
            `Only admins can point dataset ${id} at ${added.join(", ")}: dataset admins may add only ` +
              `hosts listed in DATASET_SOURCE_HOSTS (${deps.config.datasetSourceHosts.join(", ") || "none"})`,
          );
      }
      checkTemplateValues(id, stored, datasets[id]!);
      const postedTag = datasets[id]!.tag;
      if (stored?.tag && postedTag && compareVersions(postedTag, stored.tag) < 0) {
        throw conflict(`Dataset ${id}: tag ${postedTag} is older than the stored ${stored.tag}`);
      }
    });
    for (const id of ids) tx.set(collection.doc(id), datasets[id]!);
    // Reads of an older tag's body annotations need the moment the dataset moved past it.
    snaps.forEach((snap, i) => {
      const stored = snap.data() as StoredDataset | undefined;
      const postedTag = datasets[ids[i]!]!.tag;
      if (stored?.tag && postedTag && postedTag !== stored.tag)
        recordTagMove(tx, deps.db, ids[i]!, { tag: stored.tag, uuid: stored.uuid }, postedTag);
    });
  });
  deps.datasets.invalidate();
}

/** Deletes dataset documents (admins only); the data under them is left in place. */
export async function deleteDatasets(deps: Needs, ids: string[]): Promise<string[]> {
  const batch = deps.db.batch();
  for (const id of ids) batch.delete(deps.db.collection(DATASETS).doc(id));
  await batch.commit();
  deps.datasets.invalidate();
  return ids;
}
