// Apollo Client 4 for ordergate: queries and mutations over HTTP as persisted queries (the
// SHA-256 of the document, the document itself only when the gateway asks for it), with the
// user's JWT in `Authorization`; subscriptions over graphql-ws, the JWT in `connection_init`.
import { createHash } from "node:crypto";
import { ApolloClient, ApolloLink, HttpLink, InMemoryCache } from "@apollo/client";
import { PersistedQueryLink } from "@apollo/client/link/persisted-queries";
import { GraphQLWsLink } from "@apollo/client/link/subscriptions";
import { getMainDefinition } from "@apollo/client/utilities";
import { createClient } from "graphql-ws";
import WebSocket from "ws"; // browsers have their own; Node 20 needs this one

export function ordergateClient({ url, token, fetch = globalThis.fetch }) {
  const http = ApolloLink.from([
    new PersistedQueryLink({ sha256: (text) => createHash("sha256").update(text).digest("hex") }),
    new HttpLink({ uri: url, headers: { authorization: `Bearer ${token}` }, fetch }),
  ]);
  const ws = new GraphQLWsLink(
    createClient({
      url: url.replace(/^http/, "ws"),
      webSocketImpl: WebSocket,
      connectionParams: { authorization: `Bearer ${token}` },
    }),
  );
  const isSubscription = ({ query }) => {
    const definition = getMainDefinition(query);
    return definition.kind === "OperationDefinition" && definition.operation === "subscription";
  };
  return new ApolloClient({ cache: new InMemoryCache(), link: ApolloLink.split(isSubscription, ws, http) });
}
