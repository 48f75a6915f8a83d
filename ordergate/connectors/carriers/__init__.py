"""Carriers: rates, labels, tracking and tracking webhooks (ShipEngine, UPS)."""
