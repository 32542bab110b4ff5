import gzip
import hashlib
import json
import os

import pytest

from keras_s2s.datasets import get_data_dir
from keras_s2s.datasets import load_cmudict
from keras_s2s.datasets import load_multi30k
from keras_s2s.datasets import load_multi30k_references
from keras_s2s.datasets import load_sentence_compression
from keras_s2s.datasets import remote_files
from tests.test_case import TestCase


def local_path(dataset, relative_path):
    return os.path.join(get_data_dir(), dataset, relative_path)


class FakeServer:
    """Serves what the public URLs hold, rebuilt from the local files."""

    def __init__(self):
        self.urls = {}
        for (dataset, relative_path), (url, fetch, _) in remote_files.REMOTE_FILES.items():
            path = local_path(dataset, relative_path)
            if not os.path.isfile(path):
                continue
            if fetch == "gz":
                self.urls[url] = open(path, "rb").read()
            elif fetch == "plain":
                self.urls[url] = gzip.open(path).read()
            elif fetch == "crlf":
                self.urls[url] = gzip.open(path).read().replace(b"\n", b"\r\n")
        records = []
        fake_test = [(f"Test sentence {i} .", f"Test {i} .") for i in range(1000)]
        for split in ("dev", "train"):
            sources = gzip.open(local_path("sentence-compression", f"{split}.src.gz"), "rt").read()
            targets = gzip.open(local_path("sentence-compression", f"{split}.tgt.gz"), "rt").read()
            fake_test += list(zip(sources.splitlines(), targets.splitlines()))
        for sentence, compression in fake_test:
            record = {
                "graph": {"id": "x", "sentence": sentence},
                "compression": {"text": compression},
            }
            records.append(json.dumps(record, indent=2))
        self.urls[remote_files._COMPRESSION] = gzip.compress("\n\n".join(records).encode("utf-8"))
        self.requested = []

    def fetch(self, url):
        self.requested.append(url)
        return self.urls[url]


class RemoteFilesTest(TestCase):
    def test_recorded_checksums_match_local_files(self):
        checked = 0
        for (dataset, relative_path), (url, _, sha256) in remote_files.REMOTE_FILES.items():
            self.assertTrue(url.startswith("https://"))
            path = local_path(dataset, relative_path)
            if sha256 is None or sha256.startswith("gitblob:"):
                continue
            self.assertEqual(remote_files.sha256_of_content(path), sha256, path)
            checked += 1
        self.assertEqual(checked, 29)

    def test_download_writes_verified_files(self):
        server = FakeServer()
        original = remote_files._fetch
        remote_files._fetch = server.fetch
        try:
            root = os.path.join(self.tmp_dir, "cache")
            sources, targets = load_multi30k("val", "fr", "cs", data_dir=root, download=True)
            self.assertEqual((sources, targets), load_multi30k("val", "fr", "cs"))
            references = load_multi30k_references("val", "de", data_dir=root, download=True)
            self.assertEqual(references, load_multi30k_references("val", "de"))
            self.assertEqual(
                load_cmudict("dev", data_dir=root, download=True), load_cmudict("dev")
            )
            self.assertEqual(
                load_sentence_compression("dev", data_dir=root, download=True),
                load_sentence_compression("dev"),
            )
            test = load_sentence_compression("test", data_dir=root)
            self.assertEqual(test[0][999], "Test sentence 999 .")
            self.assertEqual(len(server.requested), 5)
            # Present files are not fetched again.
            load_multi30k("val", "fr", "cs", data_dir=root, download=True)
            self.assertEqual(len(server.requested), 5)
        finally:
            remote_files._fetch = original

    def test_checksum_mismatch_writes_nothing(self):
        original = remote_files._fetch
        remote_files._fetch = lambda url: gzip.compress(b"tampered\n")
        try:
            root = os.path.join(self.tmp_dir, "cache")
            with pytest.raises(ValueError, match="Checksum mismatch for 'val.en.gz'"):
                load_multi30k("val", "en", "de", data_dir=root, download=True)
            self.assertFalse(os.path.exists(os.path.join(root, "multi30k", "val.en.gz")))
            remote_files._fetch = lambda url: b"CAT  K AE T\r\n"
            with pytest.raises(ValueError, match="Checksum mismatch for 'cmudict-0.7b.test.gz'"):
                load_cmudict("test", data_dir=root, download=True)
        finally:
            remote_files._fetch = original

    def test_git_blob_checksum(self):
        data = b"CAT  K AE T\r\n"
        expected = hashlib.sha1(b"blob 13\0" + data).hexdigest()
        self.assertEqual(remote_files._git_blob_sha1(data), expected)
