"""Every string a client sends is one the store can keep (`ordergate.models.text`).

`MAXIMA` gives each `String` input field and argument (by schema coordinate) the most
characters it may carry: the length of the column it is kept in, or, for text that is only
compared or passed on, the bound written beside it. `ID`s are held to the id rule instead.

`guard_text` wraps the resolver of every root field that takes arguments: the arguments, as
GraphQL coerced them, are walked first, and a value that breaks the rule never reaches the
resolver. Mutations, and the few queries whose payload has them (`simulateRouting`), answer
with `userErrors` (field `input.lines.0.reason`); other queries and subscriptions with a
top-level error carrying the code. A malformed id is NOT_FOUND: it names
nothing.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from graphql import (
    GraphQLArgument,
    GraphQLField,
    GraphQLInputObjectType,
    GraphQLInputType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLResolveInfo,
    GraphQLScalarType,
    GraphQLSchema,
    get_named_type,
)
from strawberry.schema.schema_converter import GraphQLCoreConverter

from ordergate.models import delivery
from ordergate.models.errors import Problem, ValidationFailed
from ordergate.models.returns import OrderReturn as ReturnRecord
from ordergate.models.text import check_text, is_id
from ordergate.schema.types.common import user_errors
from ordergate.store import tables
from ordergate.usecases.catalog import MAX_SEARCH

DEFINITION_BACKREF = GraphQLCoreConverter.DEFINITION_BACKREF


def stored_in(column: Any) -> int:
    """The length of a string column, e.g. `stored_in(tables.orders.c.channel)`."""
    length: int = column.type.length
    return length


CURSOR = 512  # cursors are opaque and never stored; ours are under 150 characters
PAYMENT_TOKEN = 255  # handed to the payment provider, not kept
KEY = stored_in(tables.idempotency_keys.c.key)
SKU = stored_in(tables.order_lines.c.sku)
CHANNEL = stored_in(tables.orders.c.channel)
COUNTRY = stored_in(tables.orders.c.ship_country_code)
POSTAL_CODE = stored_in(tables.orders.c.ship_postal_code)
ADDRESS = {
    "name": stored_in(tables.orders.c.ship_name),
    "line1": stored_in(tables.orders.c.ship_line1),
    "line2": stored_in(tables.orders.c.ship_line2),
    "city": stored_in(tables.orders.c.ship_city),
    "region": stored_in(tables.orders.c.ship_region),
    "postalCode": POSTAL_CODE,
    "countryCode": COUNTRY,
    "phone": stored_in(tables.orders.c.ship_phone),
}
WEBHOOK_ENDPOINT = {
    "url": stored_in(tables.webhook_endpoints.c.url),
    "eventTypes": stored_in(tables.order_events.c.type),
    "description": stored_in(tables.webhook_endpoints.c.description),
}

LOCATION = {
    "name": stored_in(tables.locations.c.name),
    "erpId": stored_in(tables.locations.c.erp_id),
    "timeZone": stored_in(tables.locations.c.time_zone),
    "channels": CHANNEL,
}
LOCATION_ADDRESS = {
    "line1": stored_in(tables.locations.c.line1),
    "city": stored_in(tables.locations.c.city),
    "region": stored_in(tables.locations.c.region),
    "postalCode": stored_in(tables.locations.c.postal_code),
    "countryCode": stored_in(tables.locations.c.country_code),
    "phone": stored_in(tables.locations.c.phone),
}

MAXIMA: dict[str, int] = {
    # queries
    "Query.products(after:)": CURSOR,
    "Query.orders(after:)": CURSOR,
    "OrderFilter.channel": CHANNEL,
    "OrderFilter.customerEmail": stored_in(tables.orders.c.email),
    "OrderFilter.number": stored_in(tables.orders.c.number),
    "OrderFilter.reference": stored_in(tables.orders.c.external_reference),
    "OrderFilter.customerName": stored_in(tables.customers.c.first_name) * 2 + 1,
    "OrderFilter.tags": stored_in(tables.tags.c.tag),
    "OrderFilter.text": stored_in(tables.orders.c.email),
    "Query.customers(search:)": MAX_SEARCH,
    "Query.customers(after:)": CURSOR,
    "Query.availability(skus:)": SKU,
    "Query.availability(channel:)": CHANNEL,
    "DestinationInput.countryCode": COUNTRY,
    "DestinationInput.postalCode": POSTAL_CODE,
    "Query.fulfillmentOrders(after:)": CURSOR,
    "Query.shortPositions(after:)": CURSOR,
    "LineInput.sku": SKU,
    "Query.fulfillmentOptions(channel:)": CHANNEL,
    "Query.webhookDeliveries(after:)": CURSOR,
    "Query.auditTrail(actor:)": stored_in(tables.audit_log.c.actor),
    "Query.auditTrail(after:)": CURSOR,
    "Query.safetyStock(sku:)": SKU,
    # mutations
    "PlaceOrderInput.idempotencyKey": KEY,
    "PlaceOrderInput.channel": CHANNEL,
    "PlaceOrderInput.externalReference": stored_in(tables.orders.c.external_reference),
    "PlaceOrderInput.locale": stored_in(tables.orders.c.locale),
    "PlaceOrderInput.deliveryOptionId": delivery.MAX_ID,  # compared, not kept
    "CustomerInput.email": stored_in(tables.customers.c.email),
    "CustomerInput.firstName": stored_in(tables.customers.c.first_name),
    "CustomerInput.lastName": stored_in(tables.customers.c.last_name),
    "CustomerInput.phone": stored_in(tables.customers.c.phone),
    **{f"AddressInput.{name}": length for name, length in ADDRESS.items()},
    "PaymentInput.provider": stored_in(tables.payment_transactions.c.provider),
    "PaymentInput.token": PAYMENT_TOKEN,
    "HoldOrderInput.note": stored_in(tables.order_holds.c.note),
    "HoldOrderInput.idempotencyKey": KEY,
    "CancelOrderInput.idempotencyKey": KEY,
    "EditOrderInput.idempotencyKey": KEY,
    "ReturnLineInput.reason": stored_in(tables.order_return_lines.c.reason),
    "RequestReturnInput.idempotencyKey": KEY,
    "DecideReturnInput.note": stored_in(ReturnRecord.note),
    "CloseReturnInput.idempotencyKey": KEY,
    "RetryReturnLabelInput.idempotencyKey": KEY,
    "IssueAppeasementInput.idempotencyKey": KEY,
    "IssueAppeasementInput.note": stored_in(tables.appeasements.c.note),
    "ReleaseOrderHoldInput.idempotencyKey": KEY,
    "AddNoteInput.body": stored_in(tables.notes.c.body),
    "TagsInput.tags": stored_in(tables.tags.c.tag),
    "ChannelSplitLimitInput.channel": CHANNEL,
    "CreateLocationInput.code": stored_in(tables.locations.c.code),
    **{f"CreateLocationInput.{name}": length for name, length in LOCATION.items()},
    **{f"UpdateLocationInput.{name}": length for name, length in LOCATION.items()},
    **{f"LocationAddressInput.{name}": length for name, length in LOCATION_ADDRESS.items()},
    "OpeningPeriodInput.opens": 5,  # HH:MM
    "OpeningPeriodInput.closes": 5,
    "SetSafetyStockInput.sku": SKU,
    "ReserveInventoryInput.idempotencyKey": KEY,
    "ChangeInventoryHoldInput.idempotencyKey": KEY,
    "ReserveInventoryInput.channel": stored_in(tables.reservations.c.channel),
    "Mutation.rejectFulfillmentOrder(reason:)": stored_in(tables.fulfillment_orders.c.rejection_reason),
    "ShortLineInput.sku": SKU,
    "SetSellingPolicyInput.sku": SKU,
    "SetSellingPolicyInput.channels": CHANNEL,
    "ShipFulfillmentOrderInput.carrier": stored_in(tables.shipments.c.carrier),
    "ShipFulfillmentOrderInput.service": stored_in(tables.shipments.c.service),
    "ShipFulfillmentOrderInput.idempotencyKey": KEY,
    **{f"RegisterWebhookEndpointInput.{name}": length for name, length in WEBHOOK_ENDPOINT.items()},
    "RegisterWebhookEndpointInput.secret": stored_in(tables.webhook_endpoints.c.secret),
    **{f"UpdateWebhookEndpointInput.{name}": length for name, length in WEBHOOK_ENDPOINT.items()},
    # subscriptions
    "Subscription.orderEvents(after:)": CURSOR,
    "Subscription.fulfillmentOrderEvents(after:)": CURSOR,
    "Subscription.availabilityChanged(skus:)": SKU,
    "Subscription.availabilityChanged(channel:)": CHANNEL,
}


def at_most(coordinate: str) -> str:
    """A field's description that documents its maximum."""
    return f"At most {MAXIMA[coordinate]} characters."


def _noun(name: str) -> str:
    return re.sub(r"([A-Z])", r" \1", re.sub(r"(^i|I)d$", "", name)).strip().lower()


def _visit(
    value: Any, type_: GraphQLInputType, coordinate: str, path: tuple[str, ...], problems: list[Problem]
) -> None:
    if value is None:
        return
    if isinstance(type_, GraphQLNonNull):
        _visit(value, type_.of_type, coordinate, path, problems)
    elif isinstance(type_, GraphQLList):
        for index, item in enumerate(value):
            _visit(item, type_.of_type, coordinate, (*path, str(index)), problems)
    elif isinstance(type_, GraphQLInputObjectType):
        for name, field in type_.fields.items():
            if name in value:
                _visit(value[name], field.type, f"{type_.name}.{name}", (*path, name), problems)
    elif isinstance(type_, GraphQLScalarType) and type_.name == "ID":
        if not is_id(value):
            name = next(part for part in reversed(path) if not part.isdigit())
            noun = _noun(name)
            problems.append(Problem("NOT_FOUND", f"no such {noun}" if noun else "nothing has this id", path))
    elif isinstance(type_, GraphQLScalarType) and type_.name == "String":
        # a coordinate without a maximum is caught by tests/test_strings.py; it gets the rule anyway
        problems.extend(check_text(value, path, MAXIMA.get(coordinate, 255)))


def text_problems(
    parent: str, field: str, arguments: Mapping[str, Any], definitions: Mapping[str, GraphQLArgument]
) -> list[Problem]:
    """What is wrong with the strings among a root field's coerced `arguments`."""
    problems: list[Problem] = []
    for name, definition in definitions.items():
        if name in arguments:
            _visit(arguments[name], definition.type, f"{parent}.{field}({name}:)", (name,), problems)
    return problems


def _payload(field: GraphQLField) -> type | None:
    """The payload class of a mutation field that answers with `userErrors`."""
    named = get_named_type(field.type)
    if isinstance(named, GraphQLObjectType) and "userErrors" in named.fields:
        origin: type = named.extensions[DEFINITION_BACKREF].origin
        return origin
    return None


def _checked(parent: str, name: str, field: GraphQLField, resolve: Callable[..., Any]) -> Callable[..., Any]:
    payload = _payload(field)

    def checked(source: Any, info: GraphQLResolveInfo[Any], **arguments: Any) -> Any:
        problems = text_problems(parent, name, arguments, field.args)
        if not problems:
            return resolve(source, info, **arguments)
        if payload is not None:
            return payload(user_errors=user_errors(problems))
        raise ValidationFailed(problems)

    return checked


def guard_text(schema: GraphQLSchema) -> None:
    """Check the strings among every root field's arguments before its resolver (or, for a
    subscription, its source stream) runs; see the module."""
    roots = (schema.query_type, schema.mutation_type, schema.subscription_type)
    for root in (r for r in roots if r is not None):
        for name, field in root.fields.items():
            if not field.args:
                continue
            if field.subscribe is not None:
                field.subscribe = _checked(root.name, name, field, field.subscribe)
            elif field.resolve is not None:
                field.resolve = _checked(root.name, name, field, field.resolve)
