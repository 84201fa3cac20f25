"""The records downloads hand around: a job, its progress, and what came of it (a file, a product offline in
a long-term archive, a failure)."""
import os
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Union

from .credentials import HeadersProvider


@dataclass
class DownloadProgress:
    bytes_done: int
    bytes_total: Optional[int]
    rate_bytes_per_s: float

    @property
    def fraction(self) -> Optional[float]:
        """0..1 when the total is known (for a plain progress bar), else None."""
        if not self.bytes_total:
            return None
        return min(1.0, self.bytes_done / self.bytes_total)


@dataclass
class DownloadResult:
    url: str
    path: str
    size: int
    verified_with: str  # "MD5", "MD5+BLAKE3", "size" or "nothing"
    skipped: bool = False  # the target was already complete
    resumed: bool = False  # part of the file came from an earlier request
    requests: int = 0
    warnings: List[str] = field(default_factory=list)
    offline = False
    ok = True


@dataclass
class ProductOffline:
    """The product sits in a long-term archive; the hub was asked to restore it. Not an error."""

    url: str
    target: str
    message: str
    offline = True
    ok = False


@dataclass
class DownloadFailed:
    """One job of :func:`download_many` that failed (only with ``raise_on_error=False``)."""

    url: str
    target: str
    message: str
    offline = False
    ok = False


@dataclass
class DownloadJob:
    url: str
    target: str
    expected_size: Optional[int] = None
    checksums: Optional[Dict[str, str]] = None
    headers_provider: Optional[HeadersProvider] = None  # this job's credentials (else download_many's)


Outcome = Union[DownloadResult, ProductOffline]


def offline_result(url: str, target: str, *, status: Optional[int] = None,
                   product: Optional[dict] = None) -> Optional[ProductOffline]:
    """A ProductOffline for a DHuS 202 Accepted answer or an OData product with ``Online: false``;
    None when the product is online."""
    if status == 202:
        return ProductOffline(url, target, f"'{os.path.basename(target)}' is in the long-term archive: the hub "
                                           f"accepted a request to restore it (HTTP 202). Try again later.")
    if product is not None and product.get("Online") is False:
        name = product.get("Name") or os.path.basename(target)
        return ProductOffline(url, target, f"'{name}' is offline (in the long-term archive); order it or try "
                                           f"again later.")
    return None
