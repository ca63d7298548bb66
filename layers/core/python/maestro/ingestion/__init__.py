"""Process-metric ingestion: the drop-zone contract and (later) the one normalising pipeline."""
