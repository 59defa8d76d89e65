"""Ingest: read paper collections (`readers/`, one module per format; `latex`), dedupe them into `Paper` records
(`corpus`), and chunk, embed and write them to the store (`index`).

It writes through `search.store` and refreshes `search.keyword`'s BM25 index; it knows nothing of questions.
"""
