"""One module per input format; `assistant.ingest.corpus` picks the reader by file extension and dedupes."""
