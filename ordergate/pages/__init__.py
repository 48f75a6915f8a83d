"""Pages people read in a browser (server-rendered HTML over the use cases): the order status
page for customers."""
