"""A Spanish customer-service assistant for chat and calls; see docs/architecture.md."""
