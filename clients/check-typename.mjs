// For tests/test_clients.py: the text Apollo Client 4 and urql send for each operation of a
// manifest written by `ordergate operations --format apollo` (as written), by the libraries
// themselves. Prints {name: {apollo, urql}} as JSON.
import { readFileSync } from "node:fs";
import { addTypenameToDocument, print } from "@apollo/client/utilities";
import { formatDocument, gql, stringifyDocument } from "@urql/core";
import { parse } from "graphql";

const manifest = JSON.parse(readFileSync(process.argv[2], "utf8"));
const sent = {};
for (const { name, body } of manifest.operations) {
  sent[name] = {
    apollo: print(addTypenameToDocument(parse(body))),
    urql: stringifyDocument(formatDocument(gql(body))),
  };
}
console.log(JSON.stringify(sent));
