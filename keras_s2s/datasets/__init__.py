"""Data set loaders (local files, optional checksum-verified download) and tf.data pipelines."""

from keras_s2s.datasets.cmudict import load_cmudict
from keras_s2s.datasets.cmudict import load_cmudict_references
from keras_s2s.datasets.data_files import get_data_dir
from keras_s2s.datasets.e2e import load_e2e
from keras_s2s.datasets.e2e import load_e2e_references
from keras_s2s.datasets.file_dataset import make_file_dataset
from keras_s2s.datasets.make_dataset import make_dataset
from keras_s2s.datasets.multi30k import load_multi30k
from keras_s2s.datasets.multi30k import load_multi30k_references
from keras_s2s.datasets.parallel_text import load_parallel_text
from keras_s2s.datasets.parallel_text import load_tsv
from keras_s2s.datasets.sentence_compression import load_sentence_compression
