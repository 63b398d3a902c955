"""The one composition root (DESIGN.md): :func:`build_kernel` builds every store and
service by constructor for the server, the CLI's operator commands and the demo."""

from tidings.kernel.build import Observers, build_kernel, franking_keyring
from tidings.kernel.operator import open_kernel
from tidings.kernel.parts import Blobs, Kernel, Stores

__all__ = ["Blobs", "Kernel", "Observers", "Stores", "build_kernel", "franking_keyring",
           "open_kernel"]
