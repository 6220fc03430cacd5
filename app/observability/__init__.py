"""What operations see: Prometheus metrics, score drift and structured logs."""
