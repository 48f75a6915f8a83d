"""Payment providers: authorise at placement, capture on shipment, refund and void, each idempotent by key."""
