"""OCI image layouts written with the standard library, for pushing real images with skopeo.

Every blob's size is known to the test: an image's expected size is the sum of its config and
layer sizes (DATAPLANE.md §4: gzip'd tar layers with mtime 0, a config naming the diff ids, a
manifest, index.json with the tag as org.opencontainers.image.ref.name).
"""

import gzip
import hashlib
import io
import json
import os
import tarfile

MANIFEST = "application/vnd.oci.image.manifest.v1+json"
INDEX = "application/vnd.oci.image.index.v1+json"
LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"
CONFIG = "application/vnd.oci.image.config.v1+json"


class Layout:
    """An OCI layout directory; blobs are content-addressed, so writing one twice is harmless."""

    def __init__(self, directory: str):
        self.directory = directory
        os.makedirs(os.path.join(directory, "blobs", "sha256"), exist_ok=True)
        with open(os.path.join(directory, "oci-layout"), "w") as handle:
            json.dump({"imageLayoutVersion": "1.0.0"}, handle)
        self.entries = []

    def blob(self, data: bytes, media_type: str) -> dict:
        digest = hashlib.sha256(data).hexdigest()
        with open(os.path.join(self.directory, "blobs", "sha256", digest), "wb") as handle:
            handle.write(data)
        return {"mediaType": media_type, "digest": "sha256:" + digest, "size": len(data)}

    def layer(self, content: bytes, name: str = "file") -> tuple[dict, str]:
        """A gzip'd tar holding one file; returns its descriptor and diff id."""
        raw = io.BytesIO()
        with tarfile.open(fileobj=raw, mode="w", format=tarfile.USTAR_FORMAT) as tar:
            info = tarfile.TarInfo(name)
            info.size, info.mtime, info.mode = len(content), 0, 0o644
            tar.addfile(info, io.BytesIO(content))
        tar_bytes = raw.getvalue()
        compressed = gzip.compress(tar_bytes, mtime=0)
        return self.blob(compressed, LAYER), "sha256:" + hashlib.sha256(tar_bytes).hexdigest()

    def manifest(self, layers: list[tuple[dict, str]], architecture: str = "amd64", salt: str = "") -> tuple[dict, list[dict]]:
        """An image manifest over `layers`; returns its descriptor and its blobs (config and layers)."""
        config = self.blob(json.dumps({
            "architecture": architecture, "os": "linux", "created": "1970-01-01T00:00:00Z",
            "config": {"Labels": {"salt": salt}} if salt else {},
            "rootfs": {"type": "layers", "diff_ids": [diff for _, diff in layers]},
        }, sort_keys=True).encode(), CONFIG)
        manifest = {"schemaVersion": 2, "mediaType": MANIFEST, "config": config,
                    "layers": [descriptor for descriptor, _ in layers]}
        descriptor = self.blob(json.dumps(manifest, sort_keys=True).encode(), MANIFEST)
        return descriptor, [config] + [descriptor for descriptor, _ in layers]

    def index(self, manifests: list[tuple[dict, str]]) -> dict:
        """A multi-arch index over (manifest descriptor, architecture) pairs."""
        index = {"schemaVersion": 2, "mediaType": INDEX, "manifests": [
            dict(descriptor, platform={"architecture": architecture, "os": "linux"})
            for descriptor, architecture in manifests]}
        return self.blob(json.dumps(index, sort_keys=True).encode(), INDEX)

    def tag(self, descriptor: dict, tag: str) -> None:
        """Names `descriptor` `tag` in index.json."""
        self.entries = [entry for entry in self.entries
                        if entry["annotations"]["org.opencontainers.image.ref.name"] != tag]
        self.entries.append(dict(descriptor, annotations={"org.opencontainers.image.ref.name": tag}))
        with open(os.path.join(self.directory, "index.json"), "w") as handle:
            json.dump({"schemaVersion": 2, "manifests": self.entries}, handle)


def distinct_size(*blob_lists: list[dict]) -> int:
    """What an image made of these manifests weighs: each distinct blob counted once."""
    sizes = {}
    for blobs in blob_lists:
        for blob in blobs:
            sizes[blob["digest"]] = blob["size"]
    return sum(sizes.values())
