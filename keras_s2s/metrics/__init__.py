"""Evaluation: BLEU/chrF, Multi30k and E2E BLEU, G2P WER/PER, compression F1/CR, ROUGE-L."""

from keras_s2s.metrics.compression_metrics import compression_ratio
from keras_s2s.metrics.compression_metrics import token_f1
from keras_s2s.metrics.e2e_bleu import e2e_bleu
from keras_s2s.metrics.g2p_error_rates import edit_distance
from keras_s2s.metrics.g2p_error_rates import g2p_error_rates
from keras_s2s.metrics.metric_result import MetricResult
from keras_s2s.metrics.multi30k_bleu import moses_lc_norm_tok
from keras_s2s.metrics.multi30k_bleu import multi30k_bleu
from keras_s2s.metrics.rouge_l import rouge_l
from keras_s2s.metrics.sacrebleu_metrics import corpus_bleu
from keras_s2s.metrics.sacrebleu_metrics import corpus_chrf
from keras_s2s.metrics.slot_coverage import parse_meaning_representation
from keras_s2s.metrics.slot_coverage import slot_value_coverage
