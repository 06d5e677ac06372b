/** The published CSV files of the sources (Hippocampome's import tables): RFC 4180 with quirks. */

/** RFC 4180 CSV: quoted fields, doubled quotes, CRLF. */
export function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = "";
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ",") {
      row.push(field);
      field = "";
    } else if (c === "\n" || c === "\r") {
      if (c === "\r" && text[i + 1] === "\n") i++;
      row.push(field);
      if (row.some((f) => f.length > 0)) rows.push(row);
      row = [];
      field = "";
    } else field += c;
  }
  row.push(field);
  if (row.some((f) => f.length > 0)) rows.push(row);
  return rows;
}

/** Rows as objects keyed by trimmed header names, values trimmed (the CSVs carry trailing spaces). */
export function csvObjects(text: string): Record<string, string>[] {
  // A UTF-8 BOM, also as Latin-1 decoding reads it (the site's pre-v2 conndata.csv has one).
  const [header, ...rows] = parseCsv(text.replace(/^(\uFEFF|\u00EF\u00BB\u00BF)/, ""));
  if (!header) return [];
  const keys = header.map((h) => h.trim());
  return rows.map((r) => Object.fromEntries(keys.map((k, i) => [k, (r[i] ?? "").trim()])));
}
