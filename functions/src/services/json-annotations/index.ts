/**
 * Body ("neuron") annotations of `/v2/json-annotations/{dataset}/neurons`, Firestore-native and
 * versioned. One `JsonAnnotations` per instance owns the replicas it loads; the API layer checks
 * permissions and calls these methods.
 */
import type { Firestore } from "firebase-admin/firestore";
import { notFound } from "../../errors.js";
import type { Logger } from "../../log.js";
import type { Projection } from "./records.js";
import { compileQuery, parsePosted, type Posted } from "./records.js";
import { readAll, readByIds, readChanges, readQuery } from "./reads.js";
import { ReplicaSet, type DatasetReplica } from "./replica.js";
import {
  assertHeadWrite,
  datasetVersions,
  resolveRead,
  uuidToTag,
  type DatasetVersions,
} from "./versions.js";
import { deleteRecord, writeRecords } from "./writes.js";
import { versionNumber } from "./layout.js";
import { badRequest } from "../../errors.js";
import { MAX_RECORDS_PER_WRITE } from "../../schemas/json-annotations.js";

export interface JsonAnnotationsEnv {
  db: Firestore;
  now(): Date;
  log: Logger;
}

/** The dataset as this service needs it (from the dataset store). */
export interface DatasetHead {
  tag?: string | undefined;
  uuid?: string | undefined;
}

export interface ReadOptions extends Projection {
  version?: string | undefined;
}

export interface WriteOptions {
  version?: string | undefined;
  replace: boolean;
  conditional: string[];
  stampUser: string;
  writer: string;
}

export class JsonAnnotations {
  private readonly replicas: ReplicaSet;

  constructor(private readonly env: JsonAnnotationsEnv) {
    this.replicas = new ReplicaSet(env);
  }

  replica(dataset: string): Promise<DatasetReplica> {
    return this.replicas.get(dataset);
  }

  versions(dataset: string, head: DatasetHead): Promise<DatasetVersions> {
    return datasetVersions(this.env.db, dataset, head);
  }

  /** Field names at HEAD, stamp names included, with those clio's metadata lists. */
  async fields(dataset: string, head: DatasetHead): Promise<string[]> {
    const [replica, versions] = await Promise.all([this.replica(dataset), this.versions(dataset, head)]);
    const names = replica.fieldNames();
    for (const f of versions.metadata.fields ?? []) names.add(f);
    return [...names].sort();
  }

  async versionMap(dataset: string, head: DatasetHead): Promise<Record<string, string>> {
    const versions = await this.versions(dataset, head);
    if (versions.tagToUuid.size === 0) throw notFound(`Dataset ${dataset} has no versions`);
    return Object.fromEntries([...versions.tagToUuid].sort(([a], [b]) => a.localeCompare(b)));
  }

  async headTag(dataset: string, head: DatasetHead): Promise<string> {
    const { headTag } = await this.versions(dataset, head);
    if (headTag === undefined) throw notFound(`Dataset ${dataset} has no tag`);
    return headTag;
  }

  async headUuid(dataset: string, head: DatasetHead): Promise<string> {
    const { headUuid } = await this.versions(dataset, head);
    if (headUuid === undefined) throw notFound(`Dataset ${dataset} has no uuid`);
    return headUuid;
  }

  async tagToUuid(dataset: string, head: DatasetHead, tag: string): Promise<string> {
    const uuid = (await this.versions(dataset, head)).tagToUuid.get(tag);
    if (!uuid) throw notFound(`Dataset ${dataset} has no version ${tag}`);
    return uuid;
  }

  async uuidToTag(dataset: string, head: DatasetHead, uuid: string): Promise<string> {
    return uuidToTag(await this.versions(dataset, head), uuid);
  }

  private async at(dataset: string, head: DatasetHead, version: string | undefined) {
    if (version === undefined || version === "" || version === head.tag) return { kind: "head" } as const;
    return resolveRead(await this.versions(dataset, head), dataset, version);
  }

  async byIds(dataset: string, head: DatasetHead, ids: string[], options: ReadOptions): Promise<string[]> {
    const [replica, at] = await Promise.all([this.replica(dataset), this.at(dataset, head, options.version)]);
    return readByIds(this.env, replica, ids, at, options);
  }

  async changes(dataset: string, ids: string[], projection: Projection): Promise<string[]> {
    return readChanges(this.env, await this.replica(dataset), ids, projection);
  }

  async query(
    dataset: string,
    head: DatasetHead,
    body: unknown,
    options: ReadOptions & { onlyid: boolean },
  ): Promise<string[]> {
    const compiled = compileQuery(body);
    const [replica, at] = await Promise.all([this.replica(dataset), this.at(dataset, head, options.version)]);
    return readQuery(this.env, replica, compiled, at, options, options.onlyid);
  }

  async all(dataset: string, head: DatasetHead, options: ReadOptions): Promise<Iterable<string>> {
    const [replica, at] = await Promise.all([this.replica(dataset), this.at(dataset, head, options.version)]);
    return readAll(this.env, replica, at, options);
  }

  /** Checks every posted record before writing any. */
  parse(body: unknown): Posted[] {
    if (body === undefined) throw badRequest("Send one annotation object or a list of them");
    const list = Array.isArray(body) ? body : [body];
    if (list.length === 0) throw badRequest("The list of annotations is empty");
    if (list.length > MAX_RECORDS_PER_WRITE)
      throw badRequest(`Send at most ${MAX_RECORDS_PER_WRITE} annotations per request`);
    return list.map((item, i) => parsePosted(item, Array.isArray(body) ? i : undefined));
  }

  async write(dataset: string, head: DatasetHead, posted: Posted[], options: WriteOptions): Promise<void> {
    const versions = options.version ? await this.versions(dataset, head) : undefined;
    if (versions) assertHeadWrite(versions, dataset, options.version);
    const replica = await this.replica(dataset);
    await writeRecords(this.env, replica, posted, {
      replace: options.replace,
      conditional: options.conditional,
      stampUser: options.stampUser,
      writer: options.writer,
      version: versionNumber(head.tag),
    });
  }

  async delete(dataset: string, head: DatasetHead, bodyid: string, writer: string): Promise<void> {
    const replica = await this.replica(dataset);
    await deleteRecord(this.env, replica, bodyid, { writer, version: versionNumber(head.tag) });
  }

  close(): Promise<void> {
    return this.replicas.close();
  }
}
