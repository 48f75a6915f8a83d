// @apollo/generate-persisted-query-manifest: every operation in the app's sources, as Apollo
// Client will send it (with __typename), for ORDERGATE_TRUSTED_DOCUMENTS.
import type { PersistedQueryManifestConfig } from "@apollo/generate-persisted-query-manifest";

const config: PersistedQueryManifestConfig = {
  documents: ["apollo-query.mjs", "apollo-subscription.mjs"],
  output: process.env.MANIFEST ?? "persisted-query-manifest.json",
};

export default config;
