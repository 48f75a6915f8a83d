// Scenario: the same storefront query through urql, with its persisted-queries exchange.
// Prints the result as JSON, for tests/test_clients.py.
import { Client, cacheExchange, fetchExchange, gql } from "@urql/core";
import { persistedExchange } from "@urql/exchange-persisted";

const client = new Client({
  url: process.env.ORDERGATE_URL,
  exchanges: [cacheExchange, persistedExchange({ preferGetForPersistedQueries: false }), fetchExchange],
  fetchOptions: () => ({ headers: { authorization: `Bearer ${process.env.ORDERGATE_TOKEN}` } }),
});

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

const { data, error } = await client.query(CATALOG, { first: 2 }).toPromise();
console.log(JSON.stringify({ data: data ?? null, codes: error?.graphQLErrors.map((e) => e.extensions?.code) ?? [] }));
