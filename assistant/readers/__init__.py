"""One module per input format; `assistant.corpus` picks the reader by file extension and dedupes."""
