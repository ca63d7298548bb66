"""The handler kit: what every HTTP function uses to parse, answer and fail the same way."""
