import { SearchIndex } from "./engine.js";

export interface IndexLoader {
  /** The current index, loading it on first use and reloading when its version changes. */
  get(): Promise<SearchIndex>;
}

/**
 * Lazily loads the index once per function instance and notices a new build. `version` should be
 * cheap (e.g. the Cloud Storage object's generation from a metadata read) and is asked at most
 * every `checkEveryMs`; `read` downloads the blob of that version. Concurrent callers share one
 * download, and if a refresh fails the previous index keeps serving.
 */
export function createIndexLoader(opts: {
  version: () => Promise<string>;
  read: (version: string) => Promise<Uint8Array>;
  checkEveryMs?: number;
  now?: () => number;
}): IndexLoader {
  const every = opts.checkEveryMs ?? 60_000;
  const now = opts.now ?? Date.now;
  let current: { version: string; index: SearchIndex } | undefined;
  let checkedAt = -Infinity;
  let pending: Promise<SearchIndex> | undefined;

  const refresh = async (): Promise<SearchIndex> => {
    try {
      const version = await opts.version();
      if (!current || current.version !== version) {
        current = { version, index: SearchIndex.deserialize(await opts.read(version)) };
      }
      checkedAt = now();
      return current.index;
    } catch (err) {
      if (!current) throw err;
      checkedAt = now();
      return current.index;
    }
  };

  return {
    get() {
      if (current && now() - checkedAt < every) return Promise.resolve(current.index);
      if (pending) return pending;
      const loading = refresh();
      const clear = () => {
        if (pending === loading) pending = undefined;
      };
      pending = loading;
      loading.then(clear, clear);
      return loading;
    },
  };
}
