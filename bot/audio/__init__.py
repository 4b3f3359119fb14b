"""Audio at the edge of the pipeline: formats, conversion, engine adapters."""
