"""Identity rules: who a caller is and what they may do (passwords, session tokens, API keys, roles, quotas)."""
