"""Export of a migrated folder as a machine-learning dataset (exportdataset): chips, STAC, GeoParquet, splits."""
