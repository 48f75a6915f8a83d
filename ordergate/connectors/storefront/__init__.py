"""The storefront: captured orders, customers, catalogue variants, shipments and availability pushed back."""
