"""``<target>.part``: where a download writes until it is complete and verified, kept to resume from."""
import os

from .checksums import READ_BLOCK, ChecksumVerifier
from .content_checks import HEAD_BYTES

PART_SUFFIX = ".part"


class PartFile:
    """``<target>.part``: appended to, fed to the verifier, restarted when the server ignores Range."""

    def __init__(self, path: str, verifier: ChecksumVerifier):
        self.path, self.verifier = path, verifier
        self.resumed = False
        self.handle = None
        self.size = 0
        self.head = b""  # the file's first HEAD_BYTES

    def open(self) -> None:
        """Open for appending; bytes an earlier call left behind are read into the checksums."""
        self.verifier.reset()
        self.size, self.resumed, self.head = 0, False, b""
        if os.path.exists(self.path):
            expected = self.verifier.expected_size
            too_big = expected is not None and os.path.getsize(self.path) > expected
            if too_big:
                os.unlink(self.path)
            else:
                with open(self.path, "rb") as handle:
                    for block in iter(lambda: handle.read(READ_BLOCK), b""):
                        self.verifier.update(block)
                        self._keep_head(block)
                        self.size += len(block)
                self.resumed = self.size > 0
        self.handle = open(self.path, "ab")

    def write(self, data: bytes) -> None:
        self.handle.write(data)
        self.verifier.update(data)
        self._keep_head(data)
        self.size += len(data)

    def _keep_head(self, data: bytes) -> None:
        if self.size < HEAD_BYTES:
            self.head += data[:HEAD_BYTES - self.size]

    def restart(self) -> None:
        self.handle.seek(0)
        self.handle.truncate()
        self.size = 0
        self.head = b""
        self.resumed = False
        self.verifier.reset()

    def close(self) -> None:
        if self.handle is not None and not self.handle.closed:
            try:
                self.handle.flush()
                os.fsync(self.handle.fileno())
            finally:
                self.handle.close()

    def remove(self) -> None:
        if self.handle is not None and not self.handle.closed:
            try:
                self.handle.close()
            except OSError:
                pass  # closing flushes, which fails again on a full disk
        try:
            os.unlink(self.path)
        except FileNotFoundError:
            pass
