"""Who does each kind of outbox work: a table from kind to use case, given the upstreams this
gateway has (a kind without a handler waits for a gateway that has one)."""

from __future__ import annotations

from ordergate.models.outbox import (
    EMAIL_MESSAGE,
    ERP_FULFILMENT,
    ERP_SALES_ORDER,
    ERP_SALES_ORDER_AMEND,
    ERP_STOCK_ADJUSTMENT,
    ERP_STOCK_REREAD,
    LABEL_VOID,
    PAYMENT_CAPTURE,
    PAYMENT_REFUND,
    PAYMENT_VOID,
    RETURN_EXPIRY,
    RETURN_LABEL,
    RETURN_LABEL_VOID,
    STOREFRONT_DELIVERY,
    STOREFRONT_SHIPMENT,
    STOREFRONT_STATUS,
    WEBHOOK_DELIVERY,
)
from ordergate.usecases import (
    emails,
    erp_sync,
    labels,
    payments,
    returns,
    stock_notices,
    storefront,
    webhooks_out,
)
from ordergate.usecases.services import Services
from ordergate.workers.relay import Handler


def outbox_handlers(services: Services) -> dict[str, Handler]:
    handlers: dict[str, Handler] = {}
    if services.erp is not None:
        handlers[ERP_SALES_ORDER] = erp_sync.push_sales_order
        handlers[ERP_SALES_ORDER_AMEND] = erp_sync.amend_sales_order
        handlers[ERP_FULFILMENT] = erp_sync.push_fulfilment
        handlers[ERP_STOCK_ADJUSTMENT] = erp_sync.push_adjustment
        handlers[ERP_STOCK_REREAD] = stock_notices.reread
    if services.storefront is not None:
        handlers[STOREFRONT_DELIVERY] = storefront.process_delivery
        handlers[STOREFRONT_SHIPMENT] = storefront.push_shipment
        handlers[STOREFRONT_STATUS] = storefront.push_status
    if services.webhook_sender is not None:
        handlers[WEBHOOK_DELIVERY] = webhooks_out.deliver
    if services.payments:
        handlers[PAYMENT_CAPTURE] = payments.do_payment_task
        handlers[PAYMENT_VOID] = payments.do_payment_task
        handlers[PAYMENT_REFUND] = returns.refund_and_settle  # the refund, then the return it was for
    if services.mailer is not None:
        handlers[EMAIL_MESSAGE] = emails.send
    if services.carriers:
        handlers[RETURN_LABEL] = returns.buy_return_label
        handlers[RETURN_LABEL_VOID] = returns.void_return_label
        handlers[RETURN_EXPIRY] = returns.expire_return
        handlers[LABEL_VOID] = labels.void_label
    return handlers
