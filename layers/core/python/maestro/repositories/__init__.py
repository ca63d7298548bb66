"""Storage: the DynamoDB schema (pynamodb models) and the small repositories that query it."""
