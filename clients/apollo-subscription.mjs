// Scenario: a mobile app follows one order live over graphql-ws, goes away after a few events,
// and comes back with the cursor of the last event it saw: nothing missed, nothing twice.
// Prints both runs' events as JSON, for tests/test_clients.py.
import { gql } from "@apollo/client";
import { firstValueFrom, take, toArray } from "rxjs";
import { ordergateClient } from "./apollo-client.mjs";

const ORDER_UPDATES = gql`
  subscription OrderUpdates($orderId: ID!, $after: String) {
    orderEvents(orderId: $orderId, after: $after) {
      cursor
      type
      occurredAt
      order { id status fulfillmentStatus }
    }
  }
`;

const client = ordergateClient({ url: process.env.ORDERGATE_URL, token: process.env.ORDERGATE_TOKEN });

function follow(orderId, after, count) {
  const events = client.subscribe({ query: ORDER_UPDATES, variables: { orderId, after } });
  return firstValueFrom(events.pipe(take(count), toArray())).then((results) =>
    results.map(({ data, error }) => {
      if (error) throw error;
      return data.orderEvents;
    }),
  );
}

const orderId = process.env.ORDER_ID;
const first = await follow(orderId, process.env.AFTER || null, Number(process.env.FIRST_COUNT));
const resumed = await follow(orderId, first.at(-1).cursor, Number(process.env.THEN_COUNT));
console.log(JSON.stringify({ first, resumed }));
