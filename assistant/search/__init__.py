"""Search: the store (`store`, the only Chroma code), the embedding model (`embeddings`), BM25 and the method-name
table (`keyword`), hybrid retrieval for one query (`retriever`) and optional reranking (`rerank`).

It finds papers for a query string; what to search for a question, and everything about answers, is `answer/`'s.
"""
