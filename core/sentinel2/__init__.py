"""sentinel2"""
