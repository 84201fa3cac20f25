"""Landsat 8/9 Collection 2 Level-2 (STAC collection ``landsat-c2-l2``) as a migration target.

bands: which Landsat asset holds each band the run asks for, and the scale and offset to surface
reflectance (the one mapping); qa_pixel: the QA_PIXEL bits that rate a scene's cloud and shadow over the
label and make the pair's cloud mask; names: the WRS-2 path/row (the scene record's tile) and the
acquisition grouping; assets: the band VRT and the QA_PIXEL raster a candidate is read from. Hooks:
core.search.stac (tile, scales), core.migration.scenes (grouping, fetch), core.migration.rating (QA_PIXEL in
place of SCL) and core.migration.cloud_masks (the pair's mask from QA_PIXEL). level1: USGS Collection 2
Level-1 band files given to a model (cloudmask, inference), their DN made top-of-atmosphere reflectance with the
factors of the product's MTL (used by core.models.input_scaling); band_numbering: B<n> band names read with the
Landsat sensor's numbering where a USGS product id says which sensor (used by core.models.band_selection); fill:
DN 0 of USGS band files that declare no nodata read as nodata (used by core.models.predict).
"""
