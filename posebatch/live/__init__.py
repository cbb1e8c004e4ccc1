"""Live sources into the same tables: cameras, streams, files played at their own speed."""
