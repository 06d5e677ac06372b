/**
 * One tokenizer for documents and queries, so that whatever a user can see in a record they can
 * also type. User text is only ever data: there is no operator, column or phrase syntax to inject.
 */

/** Longest term kept. A longer simple word is cut to this length on both sides of the index. */
export const MAX_TERM_LENGTH = 64;

/**
 * Characters that join word parts into one identifier (`hc328_unperturbed`, `2023-04-02`,
 * `DANDI:000027`, `cnic_001.CNG`). The parts are indexed too, so `hc328` still matches.
 */
const CONNECTOR = "-_.:/'\u2019";
const GROUP_RE = /[\p{L}\p{N}]+(?:[-_.:/'\u2019][\p{L}\p{N}]+)*/gu;
const SPLIT_RE = /[-_.:/'\u2019]/;
const NON_ASCII_RE = /[^\t-\u007f]/;
const MARKS_RE = /\p{M}+/gu;

// Letters that carry no combining mark under NFKD but that users type without the diacritic.
const LETTER_FOLD: Record<string, string> = {
  ø: "o",
  æ: "ae",
  œ: "oe",
  ł: "l",
  đ: "d",
  ð: "d",
  þ: "th",
  ı: "i",
};
const LETTER_FOLD_RE = /[øæœłđðþı]/g;

/**
 * Words too common to help ranking or AND-matching. They are not indexed; a query made only of
 * them still runs (as prefixes), so typing "in" on the way to "interneuron" finds something.
 */
export const STOPWORDS: ReadonlySet<string> = new Set(
  (
    "a an and are as at be by for from has have in into is it its of on or not that the " +
    "their this to was were which with"
  ).split(" "),
);

/** Case-folds and strips diacritics: `Ångström` → `angstrom`, `Straße` → `strasse`. */
export function normalize(text: string): string {
  if (!NON_ASCII_RE.test(text)) return text.toLowerCase();
  return text
    .normalize("NFKD")
    .replace(MARKS_RE, "")
    .toUpperCase()
    .toLowerCase()
    .replace(LETTER_FOLD_RE, (c) => LETTER_FOLD[c] ?? c);
}

/**
 * A run of letters and digits, possibly joined by connectors. `whole` is set only when the group
 * is a compound short enough to index; `parts` are its simple words.
 */
export interface TokenGroup {
  whole: string | undefined;
  parts: string[];
  /** The group was written with a trailing `*` (an explicit prefix request). */
  star: boolean;
}

const clip = (word: string) => (word.length > MAX_TERM_LENGTH ? word.slice(0, MAX_TERM_LENGTH) : word);

/** Splits already-normalized text into groups. */
export function groups(normalized: string): TokenGroup[] {
  const out: TokenGroup[] = [];
  for (const m of normalized.matchAll(GROUP_RE)) {
    const text = m[0];
    const star = normalized.charCodeAt(m.index + text.length) === 42; /* "*" */
    let compound = false;
    for (let i = 0; i < text.length; i++) {
      if (CONNECTOR.includes(text[i]!)) {
        compound = true;
        break;
      }
    }
    if (!compound) {
      out.push({ whole: undefined, parts: [clip(text)], star });
      continue;
    }
    out.push({
      whole: text.length <= MAX_TERM_LENGTH ? text : undefined,
      parts: text.split(SPLIT_RE).map(clip),
      star,
    });
  }
  return out;
}

/** Every term a piece of document text contributes, in order, stopwords dropped. */
export function indexTerms(text: string, into: string[] = []): string[] {
  for (const g of groups(normalize(text))) {
    if (g.whole !== undefined) into.push(g.whole);
    for (const p of g.parts) if (!STOPWORDS.has(p)) into.push(p);
  }
  return into;
}

/**
 * The simple words of a text, folded like the index's and stopwords dropped, without joined
 * identifiers: for exact-word matching elsewhere (the file catalog), where a query's parts must
 * each be a stored word.
 */
export function simpleWords(text: string, into: string[] = []): string[] {
  for (const g of groups(normalize(text))) for (const p of g.parts) if (!STOPWORDS.has(p)) into.push(p);
  return into;
}
