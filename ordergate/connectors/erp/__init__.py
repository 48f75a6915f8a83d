"""The ERP: stock on hand per location, incoming supply, sales orders, inventory webhooks."""
