"""GraphiQL served from files shipped in this package: no CDN, so it works offline and behind firewalls.

`graphiql_html(endpoint, assets_prefix)` renders the page; mount `ASSETS_DIR` (for instance with
Starlette's `StaticFiles`) at `assets_prefix`. Queries and mutations go over HTTP POST with the headers
typed into GraphiQL's Headers tab; subscriptions go over a WebSocket (graphql-transport-ws, through the
`graphql-ws` client) at the same path, with the tab's Authorization header sent in `connection_init` as
`{"authorization": "Bearer ..."}`. The vendored files and their versions are listed in `static/README.md`.
"""

from __future__ import annotations

import html
import json
import re
from pathlib import Path
from typing import Final

__all__ = ["ASSETS_DIR", "SCRIPTS", "STYLESHEETS", "graphiql_html"]

ASSETS_DIR: Final[Path] = Path(__file__).resolve().parent / "static"

# Load order matters: React before ReactDOM, both before GraphiQL's UMD build (which reads the globals).
SCRIPTS: Final[tuple[str, ...]] = (
    "react.production.min.js",
    "react-dom.production.min.js",
    "graphql-ws.min.js",
    "graphiql.min.js",
)
STYLESHEETS: Final[tuple[str, ...]] = ("graphiql.min.css",)

DEFAULT_QUERY: Final[str] = """\
# Welcome to the ordergate GraphQL API.
#
# Most operations need a bearer token. Mint one in a shell:
#
#   ordergate token --role admin
#
# then paste it into the Headers tab below, as:
#
# {"Authorization": "Bearer <paste a token from `ordergate token --role admin`>"}
#
# Queries and mutations go as HTTP POST with those headers.
# Subscriptions go over a WebSocket, and its connection_init
# carries the same Authorization.
#
# Run an operation with Ctrl-Enter (Cmd-Enter on a Mac).

query OrderCounts {
  orderCounts {
    status
    count
  }
}
"""

_PLACEHOLDER: Final[re.Pattern[str]] = re.compile(r"__([A-Z][A-Z_]*[A-Z])__")

# The browser side. Placeholders are filled with JSON literals by `graphiql_html`.
_SCRIPT: Final[str] = """\
(function () {
  "use strict";
  var ENDPOINT = __ENDPOINT__;
  var DEFAULT_QUERY = __DEFAULT_QUERY__;

  var httpUrl = new URL(ENDPOINT, window.location.href);
  var wsUrl = new URL(httpUrl.href);
  wsUrl.protocol = window.location.protocol === "https:" ? "wss:" : "ws:";
  wsUrl.hash = "";

  function authorizationOf(headers) {
    if (!headers || typeof headers !== "object") return undefined;
    for (var key in headers) {
      if (Object.prototype.hasOwnProperty.call(headers, key) && key.toLowerCase() === "authorization") {
        var value = headers[key];
        return typeof value === "string" && value.trim() !== "" ? value.trim() : undefined;
      }
    }
    return undefined;
  }

  // One WebSocket client per Authorization value: changing the header reconnects with the new one.
  var ws = { client: null, authorization: undefined };
  function wsClientFor(authorization) {
    if (ws.client && ws.authorization === authorization) return ws.client;
    if (ws.client) ws.client.dispose();
    ws.authorization = authorization;
    ws.client = graphqlWs.createClient({
      url: wsUrl.href,
      lazy: true,
      connectionParams: authorization ? { authorization: authorization } : {},
      shouldRetry: function (event) {
        // A rejected token (4401 Unauthorized, 4403 Forbidden) will not get better by retrying.
        return !(event && typeof event.code === "number" && (event.code === 4401 || event.code === 4403));
      },
    });
    return ws.client;
  }

  function operationOf(params, documentAST) {
    var name = params.operationName || null;
    if (documentAST && Array.isArray(documentAST.definitions)) {
      var operations = documentAST.definitions.filter(function (d) {
        return d.kind === "OperationDefinition";
      });
      var chosen = operations.filter(function (d) {
        return name ? d.name && d.name.value === name : true;
      });
      if (chosen.length === 1) return chosen[0].operation;
      if (!name && operations.length === 1) return operations[0].operation;
    }
    // No parsed document (the schema introspection call, for one): a light look at the text.
    var text = String(params.query || "").replace(/#[^\\n\\r]*/g, "");
    if (name && /^[_A-Za-z][_0-9A-Za-z]*$/.test(name)) {
      var named = new RegExp("\\\\b(query|mutation|subscription)\\\\s+" + name + "\\\\b").exec(text);
      if (named) return named[1];
    }
    var first = /^\\s*(query|mutation|subscription)\\b/.exec(text);
    return first ? first[1] : "query";
  }

  // GraphiQL shows an array of GraphQL-shaped errors as-is; an Error would also print its stack.
  function asErrors(event) {
    if (Array.isArray(event)) return event; // GraphQL errors from the server
    if (event instanceof Error) return [{ message: event.message }];
    if (event && typeof event.code === "number") {
      var message = "WebSocket closed with code " + event.code + (event.reason ? ": " + event.reason : "");
      if (event.code === 4401 || event.code === 4403) {
        message += ' (put {"Authorization": "Bearer <token>"} in the Headers tab)';
      }
      return [{ message: message }];
    }
    return [{ message: "WebSocket connection to " + wsUrl.href + " failed" }];
  }

  function subscribe(params, authorization) {
    return {
      subscribe: function (observer) {
        var payload = { query: params.query, variables: params.variables || undefined };
        if (params.operationName) payload.operationName = params.operationName;
        var dispose = wsClientFor(authorization).subscribe(payload, {
          next: function (value) { observer.next(value); },
          error: function (event) { observer.error(asErrors(event)); },
          complete: function () { observer.complete(); },
        });
        return { unsubscribe: dispose };
      },
    };
  }

  function post(params, headers) {
    var sent = Object.assign(
      {
        "Content-Type": "application/json",
        Accept: "application/graphql-response+json, application/json;q=0.9",
      },
      headers || {}
    );
    return fetch(httpUrl.href, {
      method: "POST",
      headers: sent,
      body: JSON.stringify(params),
      credentials: "same-origin",
    }).then(function (response) {
      return response.text().then(function (text) {
        try {
          return JSON.parse(text);
        } catch (e) {
          var message = "HTTP " + response.status + " " + response.statusText + ": " + text;
          return { errors: [{ message: message }] };
        }
      });
    });
  }

  function fetcher(params, options) {
    var headers = (options && options.headers) || {};
    if (operationOf(params, options && options.documentAST) === "subscription") {
      return subscribe(params, authorizationOf(headers));
    }
    return post(params, headers);
  }

  var root = ReactDOM.createRoot(document.getElementById("graphiql"));
  root.render(
    React.createElement(GraphiQL, {
      fetcher: fetcher,
      defaultQuery: DEFAULT_QUERY,
      defaultEditorToolsVisibility: "headers",
      isHeadersEditorEnabled: true,
      shouldPersistHeaders: false,
    })
  );
})();
"""

_PAGE: Final[str] = """\
<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8">
    <meta name="viewport" content="width=device-width, initial-scale=1">
    <meta name="referrer" content="no-referrer">
    <title>ordergate GraphiQL</title>
    <style>
      html, body { height: 100%; margin: 0; overflow: hidden; }
      #graphiql { height: 100vh; }
    </style>
__STYLESHEETS__
  </head>
  <body>
    <div id="graphiql">Loading GraphiQL&hellip;</div>
    <noscript>GraphiQL needs JavaScript.</noscript>
__SCRIPTS__
    <script>
__SCRIPT__
    </script>
  </body>
</html>
"""


def _js_literal(value: str) -> str:
    """A JSON string literal that is also safe inside an HTML <script> element."""
    return (
        json.dumps(value)
        .replace("<", "\\u003c")
        .replace(">", "\\u003e")
        .replace("&", "\\u0026")
        .replace("\u2028", "\\u2028")
        .replace("\u2029", "\\u2029")
    )


def _url(prefix: str, name: str) -> str:
    """An asset's URL, escaped for an HTML attribute."""
    return html.escape(f"{prefix}/{name}", quote=True)


def _fill(template: str, **values: str) -> str:
    """`template` with each `__NAME__` replaced by `values[NAME]`, in one pass (values are not rescanned)."""
    return _PLACEHOLDER.sub(lambda match: values[match.group(1)], template)


def graphiql_html(endpoint: str, assets_prefix: str) -> str:
    """The GraphiQL page for `endpoint`, loading its scripts and styles from `assets_prefix` only.

    `endpoint` is where queries are POSTed; may be a path (``/graphql``) or an absolute URL. Subscriptions
    use the same URL with ``ws://`` (``wss://`` when the page itself is served over https).
    `assets_prefix` is where `ASSETS_DIR` is mounted (``/graphiql-assets``); a trailing slash is ignored.
    """
    prefix = assets_prefix.rstrip("/")
    stylesheets = "\n".join(
        f'    <link rel="stylesheet" href="{_url(prefix, name)}">' for name in STYLESHEETS
    )
    scripts = "\n".join(f'    <script src="{_url(prefix, name)}"></script>' for name in SCRIPTS)
    script = _fill(_SCRIPT, ENDPOINT=_js_literal(endpoint), DEFAULT_QUERY=_js_literal(DEFAULT_QUERY))
    return _fill(_PAGE, STYLESHEETS=stylesheets, SCRIPTS=scripts, SCRIPT=script)
