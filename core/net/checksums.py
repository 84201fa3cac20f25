"""Checksums: the catalogue's digests (an OData product's Checksum list), and the verifier that checks a
download against them and its size as it arrives."""
import hashlib
import os
from typing import Dict, List, Optional

READ_BLOCK = 1 << 20  # bytes read at once to hash a file on disk


def odata_checksums(product: dict) -> Dict[str, str]:
    """{algorithm: hex} from an OData product's ``Checksum`` list."""
    return {str(item["Algorithm"]): str(item["Value"]) for item in product.get("Checksum") or []
            if isinstance(item, dict) and item.get("Algorithm") and item.get("Value")}


def _algorithm(name: str) -> str:
    return name.upper().replace("-", "").replace("_", "")


def _new_hasher(algorithm: str):
    """A hashlib-style object for algorithm, or None when this Python cannot compute it."""
    if algorithm == "BLAKE3":
        try:
            import blake3  # optional package
        except ImportError:
            return None
        return blake3.blake3()
    try:
        return hashlib.new(algorithm.lower(), usedforsecurity=False)
    except (ValueError, TypeError):
        return None


class ChecksumVerifier:
    """The checks one download can make: the catalogue's checksums this Python can compute, the size."""

    def __init__(self, name: str, checksums: Optional[Dict[str, str]], expected_size: Optional[int]):
        self.name, self.expected_size = name, expected_size
        self.expected: Dict[str, str] = {}
        self.warnings: List[str] = []
        for algorithm, value in (checksums or {}).items():
            key = _algorithm(algorithm)
            if _new_hasher(key) is None:
                need = " (install the 'blake3' package)" if key == "BLAKE3" else ""
                self.warnings.append(f"'{name}': this Python cannot compute {key} checksums{need}; "
                                     f"it is checked by other means only.")
            else:
                self.expected[key] = str(value).strip().lower()
        if not self.expected:
            if expected_size is not None and checksums:
                self.warnings.append(f"'{name}' is verified by its size only.")
            elif expected_size is None:
                self.warnings.append(f"'{name}' cannot be verified: no usable checksum and no size from the catalogue.")
        self.reset()

    @property
    def method(self) -> str:
        if self.expected:
            return "+".join(sorted(self.expected))
        return "size" if self.expected_size is not None else "nothing"

    @property
    def can_verify(self) -> bool:
        return bool(self.expected) or self.expected_size is not None

    def reset(self) -> None:
        self.hashers = {key: _new_hasher(key) for key in self.expected}

    def update(self, data: bytes) -> None:
        for hasher in self.hashers.values():
            hasher.update(data)

    def mismatch(self, size: int) -> Optional[str]:
        """None when the bytes fed to update() match; else a message naming both values."""
        if self.expected_size is not None and size != self.expected_size:
            return (f"'{self.name}' has {size} bytes but the catalogue says {self.expected_size}; "
                    f"the download was discarded.")
        for key, expected in self.expected.items():
            actual = self.hashers[key].hexdigest().lower()
            if actual != expected:
                return (f"'{self.name}' is damaged: its {key} checksum is {actual} but the catalogue says "
                        f"{expected}; the download was discarded.")
        return None

    def file_matches(self, path: str) -> bool:
        """Whether an existing file passes every check (used to skip finished downloads)."""
        if not self.can_verify or not os.path.isfile(path):
            return False
        if self.expected_size is not None and os.path.getsize(path) != self.expected_size:
            return False
        self.reset()
        with open(path, "rb") as handle:
            for block in iter(lambda: handle.read(READ_BLOCK), b""):
                self.update(block)
        ok = self.mismatch(os.path.getsize(path)) is None
        self.reset()
        return ok
