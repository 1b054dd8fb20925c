"""One renderer per vendor: canonical truth tables -> files shaped exactly like the vendor's API records."""
