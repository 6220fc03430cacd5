"""The whole book: classified in partitions (here or on a Dask cluster), reported, simulated."""
