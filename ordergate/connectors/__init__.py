"""Upstream APIs (storefront, ERP, carriers), each kind behind a Protocol in its base.py."""
