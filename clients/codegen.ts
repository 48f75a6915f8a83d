// GraphQL Code Generator's client preset over the client contract: typed documents, and the
// persisted-documents.json that ORDERGATE_TRUSTED_DOCUMENTS loads. The schema is the committed
// SDL, or a running gateway's /graphql (introspection, where ORDERGATE_INTROSPECTION is on).
import type { CodegenConfig } from "@graphql-codegen/cli";

const config: CodegenConfig = {
  schema: process.env.ORDERGATE_SCHEMA ?? "../ordergate/schema/schema.graphql",
  documents: ["../ordergate/schema/operations/*.graphql"],
  generates: {
    [process.env.CODEGEN_OUT ?? "./generated/"]: {
      preset: "client",
      presetConfig: { persistedDocuments: true },
    },
  },
};

export default config;
