"""Business rules. Pure Python: no Chalice, no boto3."""
