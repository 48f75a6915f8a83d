// A federation gateway over the composed supergraph: each subgraph request carries the router
// token (so ordergate runs query-plan operations in allow-list mode) and the end user's own
// Authorization header, by which ordergate decides what they may see.
import { readFileSync } from "node:fs";
import { ApolloGateway, RemoteGraphQLDataSource } from "@apollo/gateway";
import { ApolloServer } from "@apollo/server";
import { startStandaloneServer } from "@apollo/server/standalone";

class OrdergateDataSource extends RemoteGraphQLDataSource {
  willSendRequest({ request, context }) {
    request.http.headers.set("x-ordergate-router-token", process.env.ORDERGATE_ROUTER_TOKEN);
    if (context.authorization) request.http.headers.set("authorization", context.authorization);
  }
}

const gateway = new ApolloGateway({
  supergraphSdl: readFileSync(process.env.SUPERGRAPH ?? "supergraph.graphql", "utf8"),
  buildService: ({ url }) => new OrdergateDataSource({ url }),
});
const server = new ApolloServer({ gateway, includeStacktraceInErrorResponses: false });
const { url } = await startStandaloneServer(server, {
  listen: { host: "127.0.0.1", port: Number(process.env.PORT ?? 4000) },
  context: async ({ req }) => ({ authorization: req.headers.authorization }),
});
console.log(`router ready at ${url}`);
