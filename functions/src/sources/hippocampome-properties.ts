/**
 * Hippocampome type properties from the project's published import files (csv2db_import_v2
 * `iconv/latin1/`, the files its database is built from; the site serves no table of them):
 *
 * - `morphdata.csv`: per type three rows (`axons`, `dendrites`, `somata`) with one evidence cell
 *   per parcel, L101…L606. The importer (`csv2db/lib/morphdata_string_field.py`) reads a non-empty
 *   cell as "in" that parcel and a cell holding a `-` as "not in", and takes only class statuses
 *   N, M, R and P; so do we.
 * - `epdata.csv`: one row per (type, article) with the measured value of each electrophysiology
 *   parameter; the catalog keeps, per type and parameter, the mean of the reported values and how
 *   many reports it averages.
 */
import { csvObjects, parseCsv } from "./csv.js";

/** The importer's parcel for each layer column, in column order. */
const PARCELS: [string, string][] = [
  ["L101", "DG:SMo"],
  ["L102", "DG:SMi"],
  ["L103", "DG:SG"],
  ["L104", "DG:H"],
  ["L201", "CA3:SLM"],
  ["L202", "CA3:SR"],
  ["L203", "CA3:SL"],
  ["L204", "CA3:SP"],
  ["L205", "CA3:SO"],
  ["L301", "CA2:SLM"],
  ["L302", "CA2:SR"],
  ["L303", "CA2:SP"],
  ["L304", "CA2:SO"],
  ["L401", "CA1:SLM"],
  ["L402", "CA1:SR"],
  ["L403", "CA1:SP"],
  ["L404", "CA1:SO"],
  ["L501", "SUB:SM"],
  ["L502", "SUB:SP"],
  ["L503", "SUB:PL"],
  ["L601", "EC:I"],
  ["L602", "EC:II"],
  ["L603", "EC:III"],
  ["L604", "EC:IV"],
  ["L605", "EC:V"],
  ["L606", "EC:VI"],
];

const IMPORTED_STATUSES = new Set(["N", "M", "R", "P"]);
const PARTS = { axons: "axonLayers", dendrites: "dendriteLayers", somata: "somaLayers" } as const;
type Part = keyof typeof PARTS;

export interface TypeMorphology {
  axonLayers: string[];
  dendriteLayers: string[];
  somaLayers: string[];
}

export function parseMorphology(text: string): Map<string, TypeMorphology> {
  const rows = parseCsv(text);
  const out = new Map<string, TypeMorphology>();
  // Ten lines of legends precede the header; it is the row that names the layer columns.
  const headerAt = rows.findIndex((r) => r.includes("L101") && r.includes("unique ID"));
  if (headerAt < 0) return out;
  const header = rows[headerAt]!.map((h) => h.trim());
  const col = (name: string) => header.indexOf(name);
  const [status, id, part] = [col("Class Status"), col("unique ID"), col("Neurites \\ Layer ID->")];
  const parcels = PARCELS.map(([c, parcel]) => [col(c), parcel] as const).filter(([c]) => c >= 0);
  for (const row of rows.slice(headerAt + 1)) {
    const typeId = row[id]?.trim() ?? "";
    const which = row[part]?.trim() as Part;
    if (!IMPORTED_STATUSES.has(row[status]?.trim() ?? "") || !/^\d{4}$/.test(typeId) || !(which in PARTS))
      continue;
    let entry = out.get(typeId);
    if (!entry) out.set(typeId, (entry = { axonLayers: [], dendriteLayers: [], somaLayers: [] }));
    for (const [c, parcel] of parcels) {
      const cell = row[c]?.trim() ?? "";
      if (cell && !cell.includes("-") && !entry[PARTS[which]].includes(parcel))
        entry[PARTS[which]].push(parcel);
    }
  }
  return out;
}

/** The parameters of `epdata.csv`, with the unit the site shows them in. */
export const EPHYS_PARAMETERS: [column: string, label: string][] = [
  ["Vrest", "Vrest (mV)"],
  ["Rin", "Rin (MΩ)"],
  ["tau", "tau (ms)"],
  // Reported relative to the resting potential (the table's own notes say so).
  ["Vthresh", "Vthresh (mV above Vrest)"],
  ["Fast AHP", "fast AHP (mV)"],
  ["AP ampl", "AP amplitude (mV)"],
  ["AP width", "AP width (ms)"],
  ["Max F.R.", "max firing rate (Hz)"],
  ["Slow AHP", "slow AHP (mV)"],
  ["Sag ratio", "sag ratio"],
];

/** Per type: parameter label → the values reported for it, one per article row. */
export type TypeEphys = Map<string, number[]>;

export function parseEphys(text: string): Map<string, TypeEphys> {
  const out = new Map<string, TypeEphys>();
  for (const row of csvObjects(text)) {
    const typeId = row["Unique ID"] ?? "";
    if (!/^\d{4}$/.test(typeId)) continue;
    for (const [column, label] of EPHYS_PARAMETERS) {
      const raw = row[column] ?? "";
      // Only plain numbers: a cell is a value, never a range or a note.
      if (!/^[-+]?\d+(\.\d+)?$/.test(raw)) continue;
      let values = out.get(typeId);
      if (!values) out.set(typeId, (values = new Map<string, number[]>()));
      values.set(label, [...(values.get(label) ?? []), Number(raw)]);
    }
  }
  return out;
}

/** `-75.25 (2 reports)`: the mean to at most two decimals, and how many reports it averages. */
export function ephysSummary(values: number[]): string {
  const mean = values.reduce((s, v) => s + v, 0) / values.length;
  const shown = Number(mean.toFixed(2));
  return `${shown} (${values.length} report${values.length === 1 ? "" : "s"})`;
}

/** Catalog attributes for a type's morphology and electrophysiology. */
export function propertyAttributes(
  morphology: TypeMorphology | undefined,
  ephys: TypeEphys | undefined,
): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  if (morphology) {
    for (const key of ["axonLayers", "dendriteLayers", "somaLayers"] as const)
      if (morphology[key].length) out[key] = morphology[key];
  }
  if (ephys?.size) {
    out.electrophysiology = EPHYS_PARAMETERS.map(([, label]) => label).filter((l) => ephys.has(l));
    for (const label of out.electrophysiology) out[`ephys ${label}`] = [ephysSummary(ephys.get(label)!)];
  }
  return out;
}
