/**
 * A small labelled corpus shaped like real catalog records (reference/neuroscience-sources.md §3):
 * NeuroMorpho morphologies, Hippocampome neuron types and connections, ModelDB models, DANDI
 * dandisets. Field and facet names are the test's own; the engine knows none of them.
 */
import type { BuildOptions, SearchDocument } from "../../src/search/index.js";

interface Spec {
  kind: string;
  name: string;
  description?: string;
  species?: string[];
  regions?: string[];
  cellTypes?: string[];
  keywords?: string[];
  modified: string;
}

function rec(id: string, s: Spec): SearchDocument {
  return {
    id,
    text: {
      name: s.name,
      description: s.description ?? "",
      species: s.species ?? [],
      regions: s.regions ?? [],
      cellTypes: s.cellTypes ?? [],
      keywords: s.keywords ?? [],
    },
    facets: {
      source: [id.split(":")[0]!],
      kind: [s.kind],
      species: s.species ?? [],
      region: s.regions ?? [],
      cellType: s.cellTypes ?? [],
    },
    sort: { modified: Date.parse(s.modified) },
  };
}

export const OPTIONS: BuildOptions = {
  fields: { name: 3, cellTypes: 2, regions: 2, species: 2, description: 1, keywords: 1 },
  facets: ["source", "kind", "species", "region", "cellType"],
};

export const CORPUS: SearchDocument[] = [
  // NeuroMorpho.Org morphologies: the name is the reconstruction's file name, the biology is in fields.
  rec("neuromorpho:1", {
    kind: "morphology",
    name: "cnic_001",
    description:
      "When originally released, this reconstruction had been incompletely processed; fixed in release 6.1.",
    species: ["monkey"],
    regions: ["neocortex", "prefrontal", "layer 3"],
    cellTypes: ["Local projecting", "pyramidal", "principal cell"],
    keywords: ["Wearne_Hof", "Macaca mulatta", "lucifer yellow", "2006-08-01"],
    modified: "2006-08-01",
  }),
  rec("neuromorpho:1001", {
    kind: "morphology",
    name: "n409",
    description: "Dendrites and axon of a neuron filled in vitro.",
    species: ["rat"],
    regions: ["hippocampus", "CA1", "stratum pyramidale"],
    cellTypes: ["pyramidal", "principal cell"],
    keywords: ["Turner", "Rattus norvegicus", "biocytin", "2005-03-14"],
    modified: "2005-03-14",
  }),
  rec("neuromorpho:1002", {
    kind: "morphology",
    name: "n410",
    description: "Dendrites of a neuron reconstructed from a thick slice.",
    species: ["rat"],
    regions: ["hippocampus", "CA1", "stratum pyramidale"],
    cellTypes: ["pyramidal", "principal cell"],
    keywords: ["Turner", "Rattus norvegicus", "biocytin"],
    modified: "2005-03-14",
  }),
  rec("neuromorpho:2001", {
    kind: "morphology",
    name: "NMO_00001",
    description: "Granule cell reconstructed with Neurolucida.",
    species: ["rat"],
    regions: ["hippocampus", "dentate gyrus", "granular layer"],
    cellTypes: ["granule", "principal cell"],
    keywords: ["Claiborne", "Neurolucida"],
    modified: "2007-01-10",
  }),
  rec("neuromorpho:2002", {
    kind: "morphology",
    name: "hc328_unperturbed",
    description: "CA3 pyramidal neuron, control condition.",
    species: ["mouse"],
    regions: ["hippocampus", "CA3", "stratum radiatum"],
    cellTypes: ["pyramidal", "principal cell"],
    keywords: ["Mus musculus", "2023-04-02"],
    modified: "2023-04-02",
  }),
  rec("neuromorpho:2003", {
    kind: "morphology",
    name: "oriens_lm_07",
    description: "Oriens-lacunosum moleculare interneuron from a GAD67-GFP mouse.",
    species: ["mouse"],
    regions: ["hippocampus", "CA1", "stratum oriens"],
    cellTypes: ["interneuron", "O-LM", "somatostatin"],
    keywords: ["Mus musculus"],
    modified: "2015-06-30",
  }),
  rec("neuromorpho:2004", {
    kind: "morphology",
    name: "Bask_CA3_12",
    description: "Parvalbumin-positive basket cell.",
    species: ["rat"],
    regions: ["hippocampus", "CA3", "stratum pyramidale"],
    cellTypes: ["interneuron", "basket", "parvalbumin"],
    modified: "2012-09-21",
  }),
  rec("neuromorpho:2005", {
    kind: "morphology",
    name: "Mossy_H2",
    description: "Hilar mossy cell with thorny excrescences.",
    species: ["rat"],
    regions: ["hippocampus", "dentate gyrus", "hilus"],
    cellTypes: ["mossy cell", "principal cell"],
    modified: "2010-02-11",
  }),
  rec("neuromorpho:2006", {
    kind: "morphology",
    name: "sub_bursting_3",
    description: "Intrinsically bursting neuron from the subiculum.",
    species: ["rat"],
    regions: ["hippocampus", "subiculum"],
    cellTypes: ["pyramidal", "principal cell"],
    modified: "2011-11-05",
  }),
  rec("neuromorpho:2007", {
    kind: "morphology",
    name: "mec_stellate_4",
    description: "Stellate cell from layer II of the medial entorhinal cortex.",
    species: ["mouse"],
    regions: ["entorhinal cortex", "medial entorhinal cortex", "layer 2"],
    cellTypes: ["stellate", "principal cell"],
    modified: "2016-04-18",
  }),
  rec("neuromorpho:2008", {
    kind: "morphology",
    name: "CA2_PC_1",
    description: "Pyramidal neuron from CA2.",
    species: ["mouse"],
    regions: ["hippocampus", "CA2", "stratum pyramidale"],
    cellTypes: ["pyramidal", "principal cell"],
    modified: "2019-08-08",
  }),
  rec("neuromorpho:2009", {
    kind: "morphology",
    name: "pres_08",
    description: "Neuron from the presubiculum, deep layers.",
    species: ["rat"],
    regions: ["presubiculum", "layer 5"],
    cellTypes: ["pyramidal", "principal cell"],
    modified: "2014-03-03",
  }),
  rec("neuromorpho:2010", {
    kind: "morphology",
    name: "Ivy_17",
    description: "Neurogliaform-like ivy cell, dense axon.",
    species: ["rat"],
    regions: ["hippocampus", "CA1", "stratum radiatum"],
    cellTypes: ["interneuron", "ivy", "NPY"],
    modified: "2013-12-12",
  }),
  rec("neuromorpho:2011", {
    kind: "morphology",
    name: "lm_cell_5",
    description: "Interneuron at the border of stratum lacunosum-moleculare.",
    species: ["rat"],
    regions: ["hippocampus", "CA1", "stratum lacunosum-moleculare"],
    cellTypes: ["interneuron"],
    modified: "2013-12-12",
  }),

  // Hippocampome.org neuron types and connections.
  rec("hippocampome:1000", {
    kind: "neuron type",
    name: "DG Granule",
    description: "DG (e)2201p-CA3_00110-CA2_0010 Granule. Glutamatergic, projecting to CA3.",
    species: ["rodent"],
    regions: ["dentate gyrus"],
    cellTypes: ["granule"],
    keywords: ["GC", "S010101:Glutamatergic GC:Granule:DG"],
    modified: "2020-01-01",
  }),
  rec("hippocampome:1002", {
    kind: "neuron type",
    name: "DG Mossy",
    description: "Hilar glutamatergic mossy cell.",
    species: ["rodent"],
    regions: ["dentate gyrus", "hilus"],
    cellTypes: ["mossy cell"],
    modified: "2020-01-01",
  }),
  rec("hippocampome:2000", {
    kind: "neuron type",
    name: "CA1 Pyramidal",
    description: "Principal excitatory neuron of CA1.",
    species: ["rodent"],
    regions: ["CA1"],
    cellTypes: ["pyramidal"],
    modified: "2020-01-01",
  }),
  rec("hippocampome:2001", {
    kind: "neuron type",
    name: "CA1 O-LM",
    description: "Oriens-lacunosum moleculare interneuron, somatostatin-positive.",
    species: ["rodent"],
    regions: ["CA1"],
    cellTypes: ["interneuron", "O-LM", "somatostatin"],
    modified: "2020-01-01",
  }),
  rec("hippocampome:2002", {
    kind: "neuron type",
    name: "CA3 Pyramidal",
    description: "Principal excitatory neuron of CA3 with recurrent collaterals.",
    species: ["rodent"],
    regions: ["CA3"],
    cellTypes: ["pyramidal"],
    modified: "2020-01-01",
  }),
  rec("hippocampome:conn-1000-1002", {
    kind: "connection",
    name: "DG Granule → DG Mossy",
    description: "Connection in layer DG:H.",
    species: ["rodent"],
    regions: ["dentate gyrus", "hilus"],
    cellTypes: ["granule", "mossy cell"],
    modified: "2020-01-01",
  }),

  // ModelDB models.
  rec("modeldb:35358", {
    kind: "model",
    name: "CA3 pyramidal cell: rhythmogenesis in a reduced Traub model (Pinsky, Rinzel 1994)",
    description: "Fig. 2A and 3 are reproduced in this simulation of Pinsky PF, Rinzel J (1994).",
    species: [],
    regions: ["CA3"],
    cellTypes: ["pyramidal"],
    keywords: ["Active Dendrites", "NEURON", "XPP", "I Na,t", "I K,Ca"],
    modified: "2017-09-14",
  }),
  rec("modeldb:20212", {
    kind: "model",
    name: "CA1 pyramidal neuron: dendritic spike initiation (Gasparini et al 2004)",
    description: "Dendritic spikes in CA1 pyramidal neuron oblique branches.",
    regions: ["CA1"],
    cellTypes: ["pyramidal"],
    keywords: ["NEURON", "Dendritic Action Potentials"],
    modified: "2019-05-02",
  }),
  rec("modeldb:87284", {
    kind: "model",
    name: "Olfactory bulb mitral cell: gap junctions (Migliore et al 2005)",
    description: "Mitral cells coupled by gap junctions synchronise; unrelated to the hippocampus.",
    species: ["rat"],
    regions: ["olfactory bulb"],
    cellTypes: ["mitral cell"],
    keywords: ["NEURON"],
    modified: "2018-01-20",
  }),
  rec("modeldb:151282", {
    kind: "model",
    name: "Theta-gamma network of basket and O-LM interneurons",
    description: "Network model where O-LM and basket interneurons generate nested theta and gamma rhythms.",
    regions: ["CA1"],
    cellTypes: ["basket", "O-LM", "interneuron"],
    keywords: ["NEURON", "Oscillations"],
    modified: "2014-07-07",
  }),
  rec("modeldb:144488", {
    kind: "model",
    name: "Dentate gyrus network model (Santhakumar et al 2005)",
    description: "Granule, mossy, basket and HIPP cells after head trauma.",
    species: ["rat"],
    regions: ["dentate gyrus"],
    cellTypes: ["granule", "mossy cell", "basket"],
    keywords: ["NEURON", "Epilepsy"],
    modified: "2016-10-10",
  }),
  rec("modeldb:267001", {
    kind: "model",
    name: "Réseau thalamo-cortical: modèle de Lytton",
    description: "A thalamocortical network model with diacritics in its title (Garçon, Müller, Søren).",
    regions: ["thalamus", "neocortex"],
    keywords: ["NEURON"],
    modified: "2021-02-02",
  }),

  // DANDI dandisets.
  rec("dandi:000027", {
    kind: "dataset",
    name: "Test dataset for testing dandi-cli.",
    description: "A tiny NWB file. DANDI:000027/0.210831.2033",
    species: ["Brown rat"],
    keywords: ["Halchenko, Yaroslav O.", "Neurodata Without Borders (NWB)", "spdx:CC0-1.0"],
    modified: "2021-08-31",
  }),
  rec("dandi:000044", {
    kind: "dataset",
    name: "Hippocampal place cells during linear track running",
    description:
      "Silicon probe recordings in CA1; putative pyramidal units and interneurons were sorted. Sharp-wave ripples.",
    species: ["House mouse"],
    regions: ["CA1"],
    keywords: ["extracellular electrophysiology", "NWB"],
    modified: "2022-05-17",
  }),
  rec("dandi:000061", {
    kind: "dataset",
    name: "Two-photon imaging of dentate gyrus granule cells",
    description: "Calcium imaging of granule cells in head-fixed mice navigating virtual reality.",
    species: ["House mouse"],
    regions: ["dentate gyrus"],
    cellTypes: ["granule"],
    keywords: ["ophys", "NWB"],
    modified: "2023-02-14",
  }),
  rec("dandi:000109", {
    kind: "dataset",
    name: "Human hippocampus single units during memory encoding",
    description: "Intracranial recordings from epilepsy patients; neurons in the hippocampus and amygdala.",
    species: ["Human"],
    regions: ["hippocampus", "amygdala"],
    keywords: ["ecephys", "NWB"],
    modified: "2024-01-09",
  }),
];
