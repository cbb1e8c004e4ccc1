"""The engine: a frame in, people out (preprocess, network, post-process, parse)."""
