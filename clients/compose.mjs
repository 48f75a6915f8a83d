// Composition: read the running subgraph's SDL with the router token (it is answered even with
// ORDERGATE_INTROSPECTION=off and in allow-list mode) and write the supergraph schema, as
// `rover supergraph compose` would.
import { writeFileSync } from "node:fs";
import { composeServices } from "@apollo/composition";
import { parse } from "graphql";

const url = process.env.ORDERGATE_URL; // e.g. http://ordergate:8000/graphql
const response = await fetch(url, {
  method: "POST",
  headers: {
    "content-type": "application/json",
    "x-ordergate-router-token": process.env.ORDERGATE_ROUTER_TOKEN,
  },
  body: JSON.stringify({ query: "query SubgraphSdl { _service { sdl } }" }),
});
const { data, errors } = await response.json();
if (!data) throw new Error(`ordergate refused its SDL: ${JSON.stringify(errors)}`);

const composed = composeServices([{ name: "ordergate", url, typeDefs: parse(data._service.sdl) }]);
if (composed.errors) throw new Error(composed.errors.map((e) => e.message).join("\n"));
writeFileSync(process.env.SUPERGRAPH ?? "supergraph.graphql", composed.supergraphSdl);
