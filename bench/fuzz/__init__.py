"""Coverage-guided fuzz targets for the header walkers (see ``fuzz_headers``)."""
