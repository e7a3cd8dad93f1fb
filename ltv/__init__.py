"""The core: money, the LTV formula, predictive models and the Redis store."""
