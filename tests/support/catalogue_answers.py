"""Catalogue answers built from generated SAFE products, for the download tests' loopback servers.

``Served`` holds a product's bytes and what a catalogue says about them (Id, MD5, the OData $value
path); ``odata_product`` and ``dhus_entry`` are one product's entry in a CDSE OData search answer
(shape of ../shared/fixtures/odata/cdse-odata-sentinel2-search.json) and a DHuS OpenSearch JSON answer
(../shared/fixtures/dhus/dhus-opensearch-s2-cloudcover-0.json), made from the product itself so that
footprint, dates, size and checksum match the bytes the test serves.
"""
import hashlib
import uuid

from osgeo import osr


class Served:
    """One generated product and what a catalogue says about it."""

    def __init__(self, product):
        self.product = product
        self.name = product.name
        self.data = product.path.read_bytes()
        self.md5 = hashlib.md5(self.data).hexdigest()
        self.id = str(uuid.uuid5(uuid.NAMESPACE_URL, product.name))
        self.odata_path = f"/odata/v1/Products({self.id})/$value"


def footprint_lonlat(product):
    """The tile's outline in lon/lat (what the catalogues give), from its UTM corners."""
    source, target = osr.SpatialReference(), osr.SpatialReference()
    source.ImportFromEPSG(product.epsg)
    target.ImportFromEPSG(4326)
    for srs in (source, target):
        srs.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)
    transform = osr.CoordinateTransformation(source, target)
    side = product.size_10m * 10.0
    corners = [(product.ulx, product.uly), (product.ulx + side, product.uly), (product.ulx + side, product.uly - side),
               (product.ulx, product.uly - side), (product.ulx, product.uly)]
    return [list(transform.TransformPoint(x, y)[:2]) for x, y in corners]


def iso(moment):
    return moment.strftime("%Y-%m-%dT%H:%M:%S.024000Z")


def odata_product(served, online=True, md5=None):
    """A CDSE OData Products entry (shape of ../shared/fixtures/odata/cdse-odata-sentinel2-search.json)."""
    product, ring = served.product, footprint_lonlat(served.product)
    wkt = "POLYGON ((" + ", ".join(f"{lon} {lat}" for lon, lat in ring) + "))"

    def attribute(kind, name, value):
        return {"@odata.type": f"#OData.CSC.{kind}Attribute", "Name": name, "Value": value,
                "ValueType": "Double" if kind == "Double" else kind}
    return {
        "@odata.mediaContentType": "application/octet-stream", "Id": served.id, "Name": served.name + ".SAFE",
        "ContentType": "application/octet-stream", "ContentLength": len(served.data), "Online": online,
        "Checksum": [{"Value": md5 or served.md5, "Algorithm": "MD5", "ChecksumDate": "2023-08-23T09:26:29.109555Z"}],
        "ContentDate": {"Start": iso(product.sensing), "End": iso(product.sensing)},
        "Footprint": f"geography'SRID=4326;{wkt}'", "GeoFootprint": {"type": "Polygon", "coordinates": [ring]},
        "Attributes": [attribute("String", "tileId", product.tile),
                       attribute("Double", "cloudCover", product.cloud_cover),
                       attribute("String", "productType", "S2MSI2A"),
                       attribute("DateTimeOffset", "beginningDateTime", iso(product.sensing))],
    }


def dhus_entry(served, download_url):
    """A DHuS OpenSearch JSON entry (shape of ../shared/fixtures/dhus/dhus-opensearch-s2-cloudcover-0.json);
    the size is what a hub writes: rounded, in MB."""
    product, ring = served.product, footprint_lonlat(served.product)
    wkt = "MULTIPOLYGON (((" + ", ".join(f"{lon} {lat}" for lon, lat in ring) + ")))"
    strings = {"footprint": wkt, "tileid": product.tile, "format": "SAFE", "platformname": "Sentinel-2",
               "filename": served.name + ".SAFE", "size": f"{len(served.data) / 1024 ** 2:.2f} MB",
               "producttype": "S2MSI2A", "processinglevel": "Level-2A", "identifier": served.name, "uuid": served.id}
    return {
        "title": served.name,
        "link": [{"href": download_url}, {"rel": "alternative", "href": download_url[:-len("$value")]},
                 {"rel": "icon", "href": download_url[:-len("$value")] + "Products('Quicklook')/$value"}],
        "id": served.id, "ondemand": "false",
        "date": [{"name": key, "content": iso(product.sensing)} for key in ("datatakesensingstart", "beginposition",
                                                                           "endposition")],
        "int": [{"name": "relativeorbitnumber", "content": str(product.relative_orbit)}],
        "double": {"name": "cloudcoverpercentage", "content": str(product.cloud_cover)},
        "str": [{"name": key, "content": value} for key, value in strings.items()],
    }
