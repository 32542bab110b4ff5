"""Public download locations and checksums of the data set files.

Every local file is gzipped UTF-8 text. `sha256` is the checksum of the
*decompressed* local file, i.e. of exactly the text the loaders read; a
download is converted to that form (gzipped, CRLF -> LF where noted) and
accepted only if the checksum matches. The upstream files are:

- Multi30k: github.com/multi30k/dataset, commit `a3d2e0d`, `data/task1/raw/`
  (gzipped upstream, stored as is) and `data/task1/tok/` (plain upstream).
- E2E NLG: github.com/tuetschek/e2e-dataset, commit `ab0d967`
  (`trainset.csv`, `devset.csv`); cleaned dev set from
  github.com/tuetschek/e2e-cleaning, commit `164acdf`,
  `cleaned-data/devel-fixed.no-ol.csv`.
- CMUdict G2P split: github.com/microsoft/CNTK,
  `Examples/SequenceToSequence/CMUDict/Data/` (CRLF upstream). The test
  file, not held locally, is checked by its git blob id.
- Google sentence compression: github.com/google-research-datasets/
  sentence-compression, commit `f03882c`, `data/comp-data.eval.json.gz`
  (10,000 pairs: 1-1,000 test, 1,001-2,000 dev, 2,001-10,000 train); the
  extracted train and dev files are checked against their checksums, which
  also vouches for the test split cut from the same file.
"""

import gzip
import hashlib
import json
import os
import shutil
import tempfile
import urllib.request

_MULTI30K = (
    "https://raw.githubusercontent.com/multi30k/dataset/"
    "a3d2e0d26b56f3846f66a952536ffed4e401d05a/data/task1"
)
_E2E = (
    "https://raw.githubusercontent.com/tuetschek/e2e-dataset/"
    "ab0d967dd5729ce455ef14ba9ffafc456a335264"
)
_E2E_CLEANED = (
    "https://raw.githubusercontent.com/tuetschek/e2e-cleaning/"
    "164acdf986146d76f18893b3de9488725deda4c2/cleaned-data"
)
_CMUDICT = (
    "https://raw.githubusercontent.com/microsoft/CNTK/master/"
    "Examples/SequenceToSequence/CMUDict/Data"
)
_COMPRESSION = (
    "https://raw.githubusercontent.com/google-research-datasets/"
    "sentence-compression/f03882c806888835822ed9ac57c117b80d17e932/data/"
    "comp-data.eval.json.gz"
)

# (data set, local path) -> (url, how to fetch, checksum). How to fetch:
# "gz" (upstream file is already this gzip), "plain" (gzip it), "crlf"
# (CRLF -> LF, then gzip), "compression_eval" (cut from the eval json).
# Checksum: sha256 of the decompressed local file, "gitblob:<sha1>" for the
# upstream bytes' git blob id, or None (vouched for by the sibling files).
REMOTE_FILES = {
    # Multi30k, raw text.
    ("multi30k", "train.en.gz"): (
        f"{_MULTI30K}/raw/train.en.gz",
        "gz",
        "460a15fbd157e34a7a9957ee388c1ca247fe47af3ef25fb50442af6c274e0fc6",
    ),
    ("multi30k", "train.de.gz"): (
        f"{_MULTI30K}/raw/train.de.gz",
        "gz",
        "2c2b73fd2b548fbcde3a875e0a78d6ee94d498bfdee6bd3eae3945779e9ddf72",
    ),
    ("multi30k", "train.fr.gz"): (
        f"{_MULTI30K}/raw/train.fr.gz",
        "gz",
        "5925a3c18f1587b6b54b87743106e6e8ab93618edb6f65d19eac0621f853a10d",
    ),
    ("multi30k", "train.cs.gz"): (
        f"{_MULTI30K}/raw/train.cs.gz",
        "gz",
        "2be68b38c8d586ff4f54eb13cc6e1baaaa053695b3f070d3038303a47f2268da",
    ),
    ("multi30k", "val.en.gz"): (
        f"{_MULTI30K}/raw/val.en.gz",
        "gz",
        "1f2a23d992769b5b3d209b0a10dd0b77c08cceb1f20dfb97ed0aafa49d107227",
    ),
    ("multi30k", "val.de.gz"): (
        f"{_MULTI30K}/raw/val.de.gz",
        "gz",
        "660e09eb7e1da2f856ea13ee5ad3cf6d36b3d5b0b733c857e94c5747a3dfc660",
    ),
    ("multi30k", "val.fr.gz"): (
        f"{_MULTI30K}/raw/val.fr.gz",
        "gz",
        "5304e444d842e962b2dda4d816b70b22a1765b15401642b7ca37a67477e708dc",
    ),
    ("multi30k", "val.cs.gz"): (
        f"{_MULTI30K}/raw/val.cs.gz",
        "gz",
        "d53827e469b0a1ca8d57e9e26b2b64c4bc4b33f5479c7b03ae87ae5c882c3e33",
    ),
    ("multi30k", "test_2016_flickr.en.gz"): (
        f"{_MULTI30K}/raw/test_2016_flickr.en.gz",
        "gz",
        "399a4382932c1aadd3ceb9bef1008d388a64c76d4ae4e9d4728c6f4301cac182",
    ),
    ("multi30k", "test_2016_flickr.de.gz"): (
        f"{_MULTI30K}/raw/test_2016_flickr.de.gz",
        "gz",
        "4be6b5b3236b79c25475c6bb829800a7ce559e9ba7a1f6c2394fe4d40be46d16",
    ),
    ("multi30k", "test_2016_flickr.fr.gz"): (
        f"{_MULTI30K}/raw/test_2016_flickr.fr.gz",
        "gz",
        "cb3160d69b002bb638e66cc7612fcd56cb0af82eadc9c142dedc438afb885ef6",
    ),
    ("multi30k", "test_2016_flickr.cs.gz"): (
        f"{_MULTI30K}/raw/test_2016_flickr.cs.gz",
        "gz",
        "45adb85f688de8407fddcbe1b36dca15d12aab868149b337e2576f2d6d2ff8d8",
    ),
    # Multi30k, official lowercased + normalized + tokenized references.
    ("multi30k", "tok/val.lc.norm.tok.en.gz"): (
        f"{_MULTI30K}/tok/val.lc.norm.tok.en",
        "plain",
        "46573ce391ae227f1c72f873392436a20ef18e0a6d518098cfbd70b77c8572ec",
    ),
    ("multi30k", "tok/val.lc.norm.tok.de.gz"): (
        f"{_MULTI30K}/tok/val.lc.norm.tok.de",
        "plain",
        "97232bd273eceb7207f689527386a97e4be2616b18ada47576bdaf96c8ae1f00",
    ),
    ("multi30k", "tok/val.lc.norm.tok.fr.gz"): (
        f"{_MULTI30K}/tok/val.lc.norm.tok.fr",
        "plain",
        "b303e301aa21fe7822a846b2b3fb2d5a1121ec807cd5b1d006fb7b2b5507168a",
    ),
    ("multi30k", "tok/val.lc.norm.tok.cs.gz"): (
        f"{_MULTI30K}/tok/val.lc.norm.tok.cs",
        "plain",
        "b87ee4917f4a0f9ca6cca03e402026c9f4437dc1bd6a7dadfd2544ecfb6c5501",
    ),
    ("multi30k", "tok/test_2016_flickr.lc.norm.tok.en.gz"): (
        f"{_MULTI30K}/tok/test_2016_flickr.lc.norm.tok.en",
        "plain",
        "5b7f32627cf99eced828311b955dae9800bb52bc8b91cf8b6526829e605b29d2",
    ),
    ("multi30k", "tok/test_2016_flickr.lc.norm.tok.de.gz"): (
        f"{_MULTI30K}/tok/test_2016_flickr.lc.norm.tok.de",
        "plain",
        "c6a33d39d48f9f510de147651316cd9d918e09ad0219df734a2f16b6baccacc4",
    ),
    ("multi30k", "tok/test_2016_flickr.lc.norm.tok.fr.gz"): (
        f"{_MULTI30K}/tok/test_2016_flickr.lc.norm.tok.fr",
        "plain",
        "1463bd5960f9bfe098ec3cd752d3df0c49c84dc646fb518964a29232658cd836",
    ),
    ("multi30k", "tok/test_2016_flickr.lc.norm.tok.cs.gz"): (
        f"{_MULTI30K}/tok/test_2016_flickr.lc.norm.tok.cs",
        "plain",
        "748c8816de928732365176e5c5d2f9bbabcec9b8d4448fba2d230feb057898a7",
    ),
    # E2E NLG (CSV with CRLF line endings, kept as is).
    ("e2e", "trainset.csv.gz"): (
        f"{_E2E}/trainset.csv",
        "plain",
        "f27d48df45815288ab15619d47a79028c300fbb7f42e373668aba0b98c1d57c6",
    ),
    ("e2e", "devset.csv.gz"): (
        f"{_E2E}/devset.csv",
        "plain",
        "fc26b78cdb849c80545f513b223d1e051138b43882eeb79e3eb153e689c864f9",
    ),
    ("e2e", "cleaned/devel-fixed.no-ol.csv.gz"): (
        f"{_E2E_CLEANED}/devel-fixed.no-ol.csv",
        "plain",
        "bb88df2565826a463f96e93a5ab69a8c6460de54f2e68179eb94f0019f430d4d",
    ),
    # CMUdict. sha256 of the upstream CRLF files themselves:
    # train 87bdf008b66f6aacbff4bab82d8212ef1caba4292f787ccce0d75cf5adac5778,
    # dev a391daa6bd94b786047e678fb2d3000a2a4e24b3e726dae0feddf8cc9f09ed28.
    ("cmudict", "cmudict-0.7b.train.gz"): (
        f"{_CMUDICT}/cmudict-0.7b.train-dev-20-21",
        "crlf",
        "61faa823e4a4bc64401522eb68db9543d33ee6f10dcacf5be65b1ef5fe08b6f3",
    ),
    ("cmudict", "cmudict-0.7b.dev.gz"): (
        f"{_CMUDICT}/cmudict-0.7b.train-dev-1-21",
        "crlf",
        "c8bbfb8d57d8e0c1d2ce6fbc8891325fc4570ac2b9ae068088bc59e804a9c295",
    ),
    ("cmudict", "cmudict-0.7b.test.gz"): (
        f"{_CMUDICT}/cmudict-0.7b.test",
        "crlf",
        "gitblob:a36098e5ee0f04dbd32a2359801311994957aa00",
    ),
    # Google sentence compression, all cut from the eval json.
    ("sentence-compression", "train.src.gz"): (
        _COMPRESSION,
        "compression_eval",
        "e17583d1a2ca6655ffc59ce3fdb2dc9e59393c04adfc40bfdec0748ff1aab41c",
    ),
    ("sentence-compression", "train.tgt.gz"): (
        _COMPRESSION,
        "compression_eval",
        "ca7e1953cd62732231e31a36ff4f6b4eeaad097edc3ed8975bae0deb616f0cae",
    ),
    ("sentence-compression", "dev.src.gz"): (
        _COMPRESSION,
        "compression_eval",
        "b38ebf9e747b6bc20032d0851d6e03476ea136ce2cbb961cf6f55fb58b31847c",
    ),
    ("sentence-compression", "dev.tgt.gz"): (
        _COMPRESSION,
        "compression_eval",
        "72464ec383a239380d8949872f11e57354e9ad94200059f66c43c822d8177eb6",
    ),
    ("sentence-compression", "test.src.gz"): (
        _COMPRESSION,
        "compression_eval",
        None,
    ),
    ("sentence-compression", "test.tgt.gz"): (
        _COMPRESSION,
        "compression_eval",
        None,
    ),
}


def sha256_of_content(path):
    """sha256 of a data file's text: of the decompressed bytes for `.gz`."""
    opener = gzip.open if path.endswith(".gz") else open
    digest = hashlib.sha256()
    with opener(path, "rb") as file:
        for chunk in iter(lambda: file.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _git_blob_sha1(data):
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def _fetch(url):
    with urllib.request.urlopen(url, timeout=60) as response:
        return response.read()


def _check(name, url, actual, expected):
    if actual != expected:
        raise ValueError(
            f"Checksum mismatch for '{name}' downloaded from {url}: expected "
            f"{expected}, got {actual}. The file was not saved."
        )


def _write_gzip(path, data):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    handle, tmp = tempfile.mkstemp(dir=os.path.dirname(path), suffix=".part")
    os.close(handle)
    try:
        with gzip.open(tmp, "wb") as file:
            file.write(data)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def _split_compression_eval(data):
    """Parses the eval json (a stream of objects) into (sentence, compression)."""
    text = gzip.decompress(data).decode("utf-8")
    decoder = json.JSONDecoder()
    pairs, position = [], 0
    while True:
        while position < len(text) and text[position].isspace():
            position += 1
        if position >= len(text):
            break
        record, position = decoder.raw_decode(text, position)
        pairs.append((record["graph"]["sentence"], record["compression"]["text"]))
    if len(pairs) != 10000:
        raise ValueError(
            f"Expected 10,000 pairs in {_COMPRESSION}, found {len(pairs)}."
        )
    splits = {"test": pairs[:1000], "dev": pairs[1000:2000], "train": pairs[2000:]}
    files = {}
    for split, split_pairs in splits.items():
        files[f"{split}.src.gz"] = "".join(s + "\n" for s, _ in split_pairs)
        files[f"{split}.tgt.gz"] = "".join(c + "\n" for _, c in split_pairs)
    return {name: content.encode("utf-8") for name, content in files.items()}


def download_dataset_file(dataset, relative_path, root):
    """Downloads one data file into `root/dataset/`, verifying its checksum.

    Never called by the loaders unless `download=True`.

    Raises:
        ValueError: no public location is known for the file, or the
            checksum does not match (nothing is written then).
    """
    key = (dataset, relative_path)
    if key not in REMOTE_FILES:
        known = sorted(p for d, p in REMOTE_FILES if d == dataset)
        raise ValueError(
            f"No download location is known for '{dataset}/{relative_path}'. "
            f"Known files: {known}"
        )
    url, fetch, expected = REMOTE_FILES[key]
    target = os.path.join(root, dataset, relative_path)
    data = _fetch(url)
    if fetch == "compression_eval":
        contents = _split_compression_eval(data)
        for name, content in contents.items():
            checksum = REMOTE_FILES[(dataset, name)][2]
            if checksum is not None:
                _check(name, url, hashlib.sha256(content).hexdigest(), checksum)
        for name, content in contents.items():
            _write_gzip(os.path.join(root, dataset, name), content)
        return target
    if fetch == "crlf":
        if expected.startswith("gitblob:"):
            _check(relative_path, url, _git_blob_sha1(data), expected[8:])
            expected = None
        data = data.replace(b"\r\n", b"\n")
    if fetch == "gz":
        content = gzip.decompress(data)
    else:
        content = data
    if expected is not None:
        _check(relative_path, url, hashlib.sha256(content).hexdigest(), expected)
    if fetch == "gz":
        os.makedirs(os.path.dirname(target), exist_ok=True)
        with open(target + ".part", "wb") as file:
            file.write(data)
        shutil.move(target + ".part", target)
    else:
        _write_gzip(target, content)
    return target
