"""Storage: table schemas, atomic files, the output folder and its tables."""
