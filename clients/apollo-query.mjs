// Scenario: a storefront's query through Apollo Client, by hash; and a query nobody registered.
// Prints what came back and what went over the wire, as JSON, for tests/test_clients.py.
import { gql } from "@apollo/client";
import { parse } from "graphql";
import { ordergateClient } from "./apollo-client.mjs";

const CATALOG = gql`
  query Catalog($first: Int!, $after: String) {
    products(first: $first, after: $after) {
      pageInfo { hasNextPage endCursor }
      edges {
        node { sku name price { amount currency } }
      }
    }
  }
`;
// Not in the app's sources as a gql tag, so not in its manifest: what another build (or anyone
// with the storefront's token) might send.
const UNREGISTERED = parse("query Skus { products(first: 1) { edges { node { sku } } } }");

const sent = [];
const recording = (url, init) => {
  const body = JSON.parse(init.body);
  sent.push({ hash: body.extensions?.persistedQuery?.sha256Hash ?? null, query: body.query ?? null });
  return fetch(url, init);
};
const client = ordergateClient({ url: process.env.ORDERGATE_URL, token: process.env.ORDERGATE_TOKEN, fetch: recording });

async function outcome(query, variables) {
  const { data, error } = await client.query({ query, variables, errorPolicy: "all" });
  return { data: data ?? null, codes: error?.errors?.map((e) => e.extensions?.code) ?? [] };
}

const catalog = await outcome(CATALOG, { first: 2 });
const catalogSent = sent.splice(0);
const unregistered = await outcome(UNREGISTERED, {});
console.log(JSON.stringify({ catalog, catalogSent, unregistered, unregisteredSent: sent }));
