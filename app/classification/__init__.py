"""Classification of clients: customer lifetime value here; the service and router come later."""
